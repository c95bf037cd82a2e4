package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

const (
	frameHeader = 8 // length + CRC
	cursorFile  = "cursor"
	segPrefix   = "seg-"
	segSuffix   = ".log"
	// quarantineDir holds records Kafka refused for good (see Quarantine).
	quarantineDir = "quarantine"
	// QuarantineSuffix names a quarantined frame; QuarantineReasonSuffix its
	// sidecar with Kafka's error text.
	QuarantineSuffix       = ".rec"
	QuarantineReasonSuffix = ".reason"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options configures Open.
type Options struct {
	// MaxBytes bounds the unconsumed frames on disk; an append beyond it fails
	// with ErrFull (the gateway answers 503). Default 256 MiB.
	MaxBytes int64
	// SegmentBytes is the size at which the active segment is rolled; consumed
	// segments are deleted whole, so smaller segments free disk sooner. Default 16 MiB.
	SegmentBytes int64
	// MaxBatch bounds how many waiting appends share one fsync. Default 512.
	MaxBatch int
}

// Pos is a position in the spool: a segment and a byte offset in it.
type Pos struct {
	Seq uint64
	Off int64
}

// Entry is a record read from the spool with the position just after it.
type Entry struct {
	Record Record
	End    Pos
	Size   int64
}

// Stats describes the unconsumed part of the spool.
type Stats struct {
	Records  int64     `json:"records"`
	Bytes    int64     `json:"bytes"`
	OldestAt time.Time `json:"oldest_at,omitzero"`
	MaxBytes int64     `json:"max_bytes"`
	// Quarantined is the number of records in the quarantine directory.
	Quarantined int64 `json:"quarantined"`
}

type segment struct {
	seq  uint64
	size int64 // durable (fsynced) end
}

type appendReq struct {
	frame []byte
	done  chan error
}

// Spool is a bounded on-disk FIFO of records. Append is safe for concurrent use;
// ReadBatch and Commit are meant for one reader.
type Spool struct {
	dir  string
	opts Options
	log  *zap.Logger

	reqs    chan *appendReq
	stop    chan struct{}
	stopped chan struct{}
	notify  chan struct{}

	wmu    sync.Mutex // held while writing/rolling the active file
	active *os.File

	mu       sync.Mutex // guards everything below
	closed   bool
	segs     []segment // ordered; last is active
	head     Pos       // first unconsumed frame
	records  int64
	bytes    int64
	oldestAt time.Time
	cursor   *os.File
}

// Open opens (or creates) the spool in dir, recovers its state and starts the
// group-commit writer. A torn last frame is truncated away.
func Open(dir string, opts Options, log *zap.Logger) (*Spool, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 20
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 16 << 20
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating spool dir: %w", err)
	}
	s := &Spool{
		dir: dir, opts: opts, log: log,
		reqs:    make(chan *appendReq, 4096),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		notify:  make(chan struct{}, 1),
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	go s.writer()
	return s, nil
}

func (s *Spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s%020d%s", segPrefix, seq, segSuffix))
}

func (s *Spool) recover() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("listing spool dir: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, segPrefix) || !strings.HasSuffix(n, segSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, segPrefix), segSuffix), 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	cur, curOK := s.readCursor()
	if !curOK && len(seqs) > 0 {
		cur = Pos{Seq: seqs[0]}
	}
	for len(seqs) > 0 && seqs[0] < cur.Seq {
		_ = os.Remove(s.segPath(seqs[0]))
		seqs = seqs[1:]
	}
	if len(seqs) == 0 || seqs[0] != cur.Seq {
		cur = Pos{Seq: 1}
		if len(seqs) > 0 {
			cur = Pos{Seq: seqs[0]}
		}
	}
	s.head = cur
	for i, seq := range seqs {
		start := int64(0)
		if seq == cur.Seq {
			start = cur.Off
		}
		last := i == len(seqs)-1
		end, n, nbytes, first, err := s.scan(seq, start, last)
		if err != nil {
			return err
		}
		if !first.IsZero() && s.oldestAt.IsZero() {
			s.oldestAt = first
		}
		s.records += n
		s.bytes += nbytes
		s.segs = append(s.segs, segment{seq: seq, size: end})
	}
	if len(s.segs) == 0 {
		s.segs = []segment{{seq: s.head.Seq}}
	}
	last := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(s.segPath(last.seq), os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("opening active segment: %w", err)
	}
	if _, err := f.Seek(last.size, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("seeking active segment: %w", err)
	}
	s.active = f
	if err := syncDir(s.dir); err != nil {
		return err
	}
	cf, err := os.OpenFile(filepath.Join(s.dir, cursorFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("opening cursor: %w", err)
	}
	s.cursor = cf
	if n := len(s.Quarantined()); n > 0 {
		s.log.Warn("spool quarantine holds records Kafka refused; re-send them (see gateway README)",
			zap.Int("quarantined", n), zap.String("dir", s.QuarantineDir()))
	}
	if s.records > 0 {
		s.log.Info("spool holds records from a previous run; draining",
			zap.Int64("records", s.records), zap.Int64("bytes", s.bytes))
	}
	return nil
}

// scan validates frames of segment seq from start. For the last segment a bad
// tail is truncated; for earlier segments the rest of the segment is skipped.
func (s *Spool) scan(seq uint64, start int64, last bool) (end, n, nbytes int64, first time.Time, err error) {
	f, err := os.OpenFile(s.segPath(seq), os.O_RDWR, 0)
	if err != nil {
		return 0, 0, 0, first, fmt.Errorf("opening segment %d: %w", seq, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, first, fmt.Errorf("stat segment %d: %w", seq, err)
	}
	off := start
	for off < st.Size() {
		rec, size, rerr := readFrame(f, off)
		if rerr != nil {
			s.log.Warn("spool segment has a bad frame; dropping its tail",
				zap.Uint64("segment", seq), zap.Int64("offset", off),
				zap.Int64("dropped_bytes", st.Size()-off), zap.Error(rerr))
			if last {
				if terr := f.Truncate(off); terr != nil {
					return 0, 0, 0, first, fmt.Errorf("truncating torn segment: %w", terr)
				}
				if serr := f.Sync(); serr != nil {
					return 0, 0, 0, first, fmt.Errorf("syncing truncated segment: %w", serr)
				}
			}
			break
		}
		if first.IsZero() {
			first = rec.AppendedAt
		}
		off += size
		n++
		nbytes += size
	}
	if off < start {
		off = start
	}
	return off, n, nbytes, first, nil
}

// readFrame reads and decodes the frame at off; size is the frame's total length.
func readFrame(f *os.File, off int64) (Record, int64, error) {
	var hdr [frameHeader]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return Record{}, 0, fmt.Errorf("%w: short header: %v", ErrCorrupt, err)
	}
	n := binary.BigEndian.Uint32(hdr[0:4])
	sum := binary.BigEndian.Uint32(hdr[4:8])
	if n == 0 || n > MaxRecordBytes {
		return Record{}, 0, fmt.Errorf("%w: frame length %d", ErrCorrupt, n)
	}
	p := make([]byte, n)
	if _, err := f.ReadAt(p, off+frameHeader); err != nil {
		return Record{}, 0, fmt.Errorf("%w: short payload: %v", ErrCorrupt, err)
	}
	if crc32.Checksum(p, castagnoli) != sum {
		return Record{}, 0, fmt.Errorf("%w: checksum", ErrCorrupt)
	}
	rec, err := Decode(p)
	if err != nil {
		return Record{}, 0, err
	}
	return rec, int64(n) + frameHeader, nil
}

// Frame returns r as a complete frame (header + payload).
func Frame(r Record) []byte {
	buf := make([]byte, frameHeader, frameHeader+64+len(r.Key)+len(r.Value))
	buf = Encode(buf, r)
	p := buf[frameHeader:]
	binary.BigEndian.PutUint32(buf[0:4], uint32(len(p)))
	binary.BigEndian.PutUint32(buf[4:8], crc32.Checksum(p, castagnoli))
	return buf
}

// Append writes r durably: it returns nil only after r's frame is fsynced. It
// fails with ErrFull when the spool has no room, ErrClosed after Close, or the
// ctx error if ctx ends first (the record may then still be written).
func (s *Spool) Append(ctx context.Context, r Record) error {
	if r.AppendedAt.IsZero() {
		r.AppendedAt = time.Now()
	}
	frame := Frame(r)
	if int64(len(frame)) > s.opts.MaxBytes || len(frame)-frameHeader > MaxRecordBytes {
		return ErrTooLarge
	}
	req := &appendReq{frame: frame, done: make(chan error, 1)}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the group-commit loop: it takes every waiting append (up to
// MaxBatch), writes them, fsyncs once and answers them all.
func (s *Spool) writer() {
	defer close(s.stopped)
	batch := make([]*appendReq, 0, s.opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.stop:
			s.failPending()
			return
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.writeBatch(batch)
	}
}

func (s *Spool) failPending() {
	for {
		select {
		case r := <-s.reqs:
			r.done <- ErrClosed
		default:
			return
		}
	}
}

func (s *Spool) writeBatch(batch []*appendReq) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	room := s.opts.MaxBytes - s.bytes
	activeSize := s.segs[len(s.segs)-1].size
	s.mu.Unlock()

	var (
		accepted []*appendReq
		segN     int64 // records and bytes written to the active segment
		written  int64 // and not yet published to readers
		err      error
	)
	for _, r := range batch {
		size := int64(len(r.frame))
		if size > room {
			r.done <- ErrFull
			continue
		}
		if activeSize > 0 && activeSize+size > s.opts.SegmentBytes {
			// The old segment's frames of this batch become readable (and
			// counted) with the roll, after their fsync.
			if err = s.roll(activeSize, segN, written); err != nil {
				break
			}
			activeSize, segN, written = 0, 0, 0
		}
		if _, err = s.active.Write(r.frame); err != nil {
			break
		}
		room -= size
		activeSize += size
		written += size
		segN++
		accepted = append(accepted, r)
	}
	if err == nil {
		err = s.active.Sync()
	}
	if err != nil {
		// The file may now hold a partial frame; Open truncates it after a restart,
		// and rolling to a fresh segment keeps later appends readable now.
		err = fmt.Errorf("writing spool: %w", err)
		s.log.Error("spool write failed", zap.Error(err))
		for _, r := range batch {
			select {
			case r.done <- err:
			default:
			}
		}
		s.mu.Lock()
		// Cut the file back to its durable size first: if the roll below fails too
		// (disk full), the next append must land where readers expect the next
		// frame, not after this failed write's partial bytes.
		durable := s.segs[len(s.segs)-1].size
		if terr := s.active.Truncate(durable); terr == nil {
			_, _ = s.active.Seek(durable, io.SeekStart)
		}
		if rerr := s.rollLocked(true); rerr != nil {
			s.log.Error("rolling spool segment after a failed write", zap.Error(rerr))
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.publishLocked(activeSize, segN, written)
	s.mu.Unlock()
	for _, r := range accepted {
		r.done <- nil
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// roll fsyncs the active segment, publishes its durable size and the n frames
// (nbytes) written to it since the last publish, and starts a new segment.
// wmu must be held.
func (s *Spool) roll(size, n, nbytes int64) error {
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("syncing segment: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(size, n, nbytes)
	return s.rollLocked(false)
}

// publishLocked makes the active segment's frames up to size readable and
// counts the n new ones (nbytes); they must be fsynced. mu must be held.
func (s *Spool) publishLocked(size, n, nbytes int64) {
	s.segs[len(s.segs)-1].size = size
	if s.records == 0 && n > 0 {
		s.oldestAt = time.Now()
	}
	s.records += n
	s.bytes += nbytes
}

// rollLocked starts a new active segment; wmu and mu must be held. With
// discardTail the durable size of the old segment is kept as recorded (bytes of
// a failed write beyond it are ignored by readers and truncated on Open).
func (s *Spool) rollLocked(discardTail bool) error {
	old := s.active
	if !discardTail {
		if err := old.Sync(); err != nil {
			return fmt.Errorf("syncing segment: %w", err)
		}
	}
	seq := s.segs[len(s.segs)-1].seq + 1
	f, err := os.OpenFile(s.segPath(seq), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("creating segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	_ = old.Close()
	s.active = f
	s.segs = append(s.segs, segment{seq: seq})
	return nil
}

// Notify is signalled (without blocking, coalesced) after appends are durable.
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// Stats reports the unconsumed records and bytes and when the oldest was appended.
func (s *Spool) Stats() Stats {
	q := int64(len(s.Quarantined())) // read from disk: the requeue tool removes files
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Records: s.records, Bytes: s.bytes, MaxBytes: s.opts.MaxBytes, Quarantined: q}
	if s.records > 0 {
		st.OldestAt = s.oldestAt
	}
	return st
}

// Len is the number of unconsumed records.
func (s *Spool) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// ReadBatch returns up to maxRecords durable records (and at most about maxBytes)
// from the head, in append order, without consuming them. Call Commit with the
// last entry's End once they are safely elsewhere. An unreadable frame makes
// the spool skip the rest of that segment (logged).
func (s *Spool) ReadBatch(maxRecords int, maxBytes int64) ([]Entry, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	pos := s.head
	segs := slices.Clone(s.segs)
	s.mu.Unlock()

	var out []Entry
	var total int64
	for i, seg := range segs {
		if seg.seq < pos.Seq {
			continue
		}
		off := int64(0)
		if seg.seq == pos.Seq {
			off = pos.Off
		}
		if off >= seg.size {
			continue
		}
		f, err := os.Open(s.segPath(seg.seq))
		if err != nil {
			return out, fmt.Errorf("opening segment: %w", err)
		}
		for off < seg.size && len(out) < maxRecords && total < maxBytes {
			rec, size, err := readFrame(f, off)
			if err != nil {
				f.Close()
				if len(out) > 0 {
					return out, nil // deliver what is good first; the next call skips
				}
				skipped, serr := s.skipCorrupt(Pos{Seq: seg.seq, Off: off}, seg.size, i == len(segs)-1, err)
				if serr != nil || !skipped {
					return nil, serr
				}
				return s.ReadBatch(maxRecords, maxBytes) // the head moved to a later segment
			}
			off += size
			total += size
			out = append(out, Entry{Record: rec, End: Pos{Seq: seg.seq, Off: off}, Size: size})
		}
		f.Close()
		if len(out) >= maxRecords || total >= maxBytes {
			break
		}
	}
	if len(out) > 0 && !out[0].Record.AppendedAt.IsZero() {
		s.mu.Lock()
		s.oldestAt = out[0].Record.AppendedAt
		s.mu.Unlock()
	}
	return out, nil
}

// skipCorrupt moves the head past an unreadable region (bit rot: a torn tail is
// already truncated by Open) and recounts what is left. The dropped bytes are
// logged; the alternative, a forwarder stuck forever, loses everything after it.
func (s *Spool) skipCorrupt(at Pos, end int64, active bool, cause error) (bool, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head != at {
		return false, nil
	}
	if active && s.segs[len(s.segs)-1].seq == at.Seq {
		// Later appends go to a fresh segment so they stay readable.
		if err := s.rollLocked(false); err != nil {
			return false, err
		}
	}
	s.log.Error("spool frame unreadable; skipping the rest of its segment",
		zap.Uint64("segment", at.Seq), zap.Int64("offset", at.Off),
		zap.Int64("dropped_bytes", end-at.Off), zap.Error(cause))
	next := Pos{Seq: at.Seq + 1}
	for _, seg := range s.segs {
		if seg.seq > at.Seq {
			next = Pos{Seq: seg.seq}
			break
		}
	}
	s.head = next
	s.records, s.bytes = 0, 0
	for _, seg := range s.segs {
		if seg.seq < next.Seq {
			_ = os.Remove(s.segPath(seg.seq))
			continue
		}
		n, b := s.count(seg)
		s.records += n
		s.bytes += b
	}
	s.segs = slices.DeleteFunc(s.segs, func(g segment) bool { return g.seq < next.Seq })
	return true, s.writeCursor(s.head)
}

// count returns the readable frames and bytes of a whole segment (mu held).
func (s *Spool) count(seg segment) (n, nbytes int64) {
	f, err := os.Open(s.segPath(seg.seq))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	for off := int64(0); off < seg.size; {
		_, size, err := readFrame(f, off)
		if err != nil {
			return n, nbytes
		}
		off += size
		n++
		nbytes += size
	}
	return n, nbytes
}

// Commit marks everything up to the entries' last End as consumed: it persists
// the cursor, deletes fully consumed segments and, when nothing is left, starts
// a fresh segment. entries must be a prefix returned by ReadBatch.
func (s *Spool) Commit(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	end := entries[len(entries)-1].End
	n := int64(len(entries))
	var nbytes int64
	for _, e := range entries {
		nbytes += e.Size
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.head = end
	s.records -= n
	s.bytes -= nbytes
	if s.records <= 0 {
		s.records, s.bytes = 0, 0
	}
	activeSeq := s.segs[len(s.segs)-1].seq
	if s.records == 0 && s.head.Seq == activeSeq && s.head.Off == s.segs[len(s.segs)-1].size && s.head.Off > 0 {
		if err := s.rollLocked(false); err != nil {
			return err
		}
		s.head = Pos{Seq: s.segs[len(s.segs)-1].seq}
	}
	if err := s.writeCursor(s.head); err != nil {
		return err
	}
	keep := s.segs[:0]
	for _, seg := range s.segs {
		if seg.seq < s.head.Seq {
			if err := os.Remove(s.segPath(seg.seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("removing consumed spool segment", zap.Uint64("segment", seg.seq), zap.Error(err))
			}
			continue
		}
		keep = append(keep, seg)
	}
	s.segs = keep
	return nil
}

// QuarantineDir is the directory Quarantine writes to.
func (s *Spool) QuarantineDir() string { return filepath.Join(s.dir, quarantineDir) }

// Quarantine moves e, which must be the head entry (the first one ReadBatch
// returns), out of the way of the records behind it: its whole frame (the same
// bytes as in a segment: length, CRC32-C, encoded key, value and headers) is
// written to <dir>/quarantine/<segment>-<offset>.rec and reason to the .reason
// sidecar, both fsynced with the directory, and only then is e committed. An
// acknowledged webhook is never dropped: it waits there for an operator (see
// ReadQuarantined). It returns the .rec path.
func (s *Spool) Quarantine(e Entry, reason string) (string, error) {
	qdir := s.QuarantineDir()
	if err := os.MkdirAll(qdir, 0o750); err != nil {
		return "", fmt.Errorf("creating quarantine dir: %w", err)
	}
	base := filepath.Join(qdir, fmt.Sprintf("%020d-%020d", e.End.Seq, e.End.Off-e.Size))
	if err := writeFileSync(base+QuarantineReasonSuffix, []byte(reason+"\n")); err != nil {
		return "", err
	}
	if err := writeFileSync(base+QuarantineSuffix, Frame(e.Record)); err != nil {
		return "", err
	}
	if err := syncDir(qdir); err != nil {
		return "", err
	}
	if err := s.Commit([]Entry{e}); err != nil {
		// The record is in quarantine and still at the head: after a restart it
		// is forwarded (or quarantined) again under the same name.
		return "", err
	}
	return base + QuarantineSuffix, nil
}

// Quarantined lists the quarantined .rec files in spool order.
func (s *Spool) Quarantined() []string { return QuarantinedFiles(s.dir) }

// QuarantinedFiles lists the quarantined .rec files of the spool in dir, in
// spool order (their names are the segment and offset they had).
func QuarantinedFiles(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, quarantineDir, "*"+QuarantineSuffix))
	slices.Sort(files)
	return files
}

// ReadQuarantined decodes a quarantined .rec file (one spool frame).
func ReadQuarantined(path string) (Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return Record{}, fmt.Errorf("opening quarantined record: %w", err)
	}
	defer f.Close()
	rec, _, err := readFrame(f, 0)
	return rec, err
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func (s *Spool) writeCursor(p Pos) error {
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:8], p.Seq)
	binary.BigEndian.PutUint64(b[8:16], uint64(p.Off))
	binary.BigEndian.PutUint32(b[16:20], crc32.Checksum(b[:16], castagnoli))
	if _, err := s.cursor.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("writing spool cursor: %w", err)
	}
	if err := s.cursor.Sync(); err != nil {
		return fmt.Errorf("syncing spool cursor: %w", err)
	}
	return nil
}

func (s *Spool) readCursor() (Pos, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, cursorFile))
	if err != nil || len(b) < 20 {
		return Pos{}, false
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.BigEndian.Uint32(b[16:20]) {
		s.log.Warn("spool cursor corrupt; replaying from the first segment (duplicates possible)")
		return Pos{}, false
	}
	return Pos{Seq: binary.BigEndian.Uint64(b[0:8]), Off: int64(binary.BigEndian.Uint64(b[8:16]))}, true
}

// Close stops the writer (pending appends fail with ErrClosed), fsyncs and closes
// the files. Unconsumed records stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.stopped
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := errors.Join(s.active.Sync(), s.active.Close(), s.cursor.Close())
	if err != nil {
		return fmt.Errorf("closing spool: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening spool dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing spool dir: %w", err)
	}
	return nil
}
