package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"

	"go.uber.org/zap"
)

// Reader: ReadBatch and Commit for the one reader (the forwarder), the
// persisted cursor, and skipping corrupt frames.

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
