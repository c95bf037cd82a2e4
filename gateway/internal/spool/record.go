package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is what the spool stores: a Kafka record's key, value and headers, plus
// when it was appended (for the oldest-age metric).
type Record struct {
	Key        []byte
	Value      []byte
	Headers    []Header
	AppendedAt time.Time
}

// encodingVersion is the first payload byte; a new layout gets a new version.
const encodingVersion = 1

// MaxRecordBytes bounds one encoded record; a frame announcing more is corrupt.
const MaxRecordBytes = 64 << 20

var (
	// ErrCorrupt means a frame or record payload failed its checks.
	ErrCorrupt = errors.New("spool record corrupt")
	// ErrFull means the append would exceed the spool's byte bound.
	ErrFull = errors.New("spool full")
	// ErrClosed means the spool was closed.
	ErrClosed = errors.New("spool closed")
	// ErrTooLarge means one record alone exceeds the bound.
	ErrTooLarge = errors.New("record larger than the spool")
)

// Encode appends the payload encoding of r to dst: version byte, appended-at unix
// nanoseconds (varint), then uvarint-length-prefixed key, value, header count and
// each header's key and value.
func Encode(dst []byte, r Record) []byte {
	dst = append(dst, encodingVersion)
	dst = binary.AppendVarint(dst, r.AppendedAt.UnixNano())
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.Value)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = appendBytes(dst, []byte(h.Key))
		dst = appendBytes(dst, h.Value)
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// Decode parses a payload written by Encode. It never panics; malformed input
// gives an error wrapping ErrCorrupt. The returned slices are copies.
func Decode(p []byte) (Record, error) {
	var r Record
	if len(p) == 0 || p[0] != encodingVersion {
		return r, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	d := decoder{b: p[1:]}
	ts := d.varint()
	r.AppendedAt = time.Unix(0, ts).UTC()
	r.Key = d.bytes()
	r.Value = d.bytes()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // every header takes at least 2 bytes
		d.err = fmt.Errorf("%w: header count %d", ErrCorrupt, n)
	}
	if d.err == nil && n > 0 {
		r.Headers = make([]Header, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			k := d.bytes()
			v := d.bytes()
			r.Headers = append(r.Headers, Header{Key: string(k), Value: v})
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	if d.err != nil {
		return Record{}, d.err
	}
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad length", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad timestamp", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: length %d beyond payload", ErrCorrupt, n)
		return nil
	}
	out := make([]byte, n)
	copy(out, d.b[:n])
	d.b = d.b[n:]
	return out
}
