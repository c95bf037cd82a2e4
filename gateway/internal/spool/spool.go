package spool

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
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
