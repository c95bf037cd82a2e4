package spool

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
)

// Writer: Append and the one goroutine that group-commits appends (write,
// fsync once, answer all) and rolls segments.

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
