package spool

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Recovery: what Open does to find the spool's state after a restart or a
// crash (segments, cursor, a torn or corrupt tail).

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
