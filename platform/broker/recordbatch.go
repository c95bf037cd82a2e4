package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchHeaderSize is a v2 record batch's header: base offset (8), batch length
// (4), partition leader epoch (4), magic (1), crc (4), attributes (2), last
// offset delta (4), base timestamp (8), max timestamp (8), producer id (8),
// producer epoch (2), base sequence (4), record count (4).
const batchHeaderSize = 61

// maxInflatedBatch bounds what one compressed record batch may decompress to:
// far above any batch a broker accepts (message.max.bytes, 1 MiB by default),
// and a bound on what a corrupt or hostile answer can make a reader allocate.
const maxInflatedBatch = 64 << 20

const (
	attrCompression   = 0x07
	attrLogAppendTime = 0x08
	attrControl       = 0x20
)

// recordDecoder decodes the record batches of fetch answers. It keeps a zstd
// decoder and the header keys it has seen, so a steady stream of batches
// allocates only what the messages keep.
type recordDecoder struct {
	zstd       *zstd.Decoder
	headerKeys map[string]string
}

// decodeRecords returns the records of one partition's record batches (data,
// as a fetch answer carries them) at or after offset from, in offset order,
// and the offset to fetch next. Batches may start before from (the broker
// returns whole batches); those records are skipped. Control batches
// (transaction markers) are skipped but moved past, so a partition ending in
// one does not refetch it forever. A truncated last batch (the answer's size
// limit cut it) is left for the next fetch. A broken batch after some records
// returns those records and no error; they are delivered and the rest is
// fetched again.
//
// Each batch's records are copied once, into one allocation the batch's
// messages share (keys, values, header values), so nothing of data is kept.
func (d *recordDecoder) decodeRecords(topic string, partition int, hwm int64, data []byte, from int64) ([]kafka.Message, int64, error) {
	next := from
	var msgs []kafka.Message
	for len(data) > 0 {
		if len(data) < 12 {
			break // truncated
		}
		baseOffset := int64(binary.BigEndian.Uint64(data))
		length := int(int32(binary.BigEndian.Uint32(data[8:])))
		if length < batchHeaderSize-12 {
			return partial(msgs, next, fmt.Errorf("record batch at %d: length %d", baseOffset, length))
		}
		if len(data)-12 < length {
			break // truncated
		}
		batch := data[:12+length]
		data = data[12+length:]
		out, after, err := d.decodeBatch(topic, partition, hwm, baseOffset, batch, next, msgs)
		if err != nil {
			return partial(msgs, next, err)
		}
		msgs, next = out, max(next, after)
	}
	return msgs, next, nil
}

// partial is decodeRecords' answer to a broken batch: the records before it
// without error, else the error.
func partial(msgs []kafka.Message, next int64, err error) ([]kafka.Message, int64, error) {
	if len(msgs) > 0 {
		return msgs, next, nil
	}
	return nil, next, err
}

// decodeBatch appends to msgs the records of one v2 batch at or after from, in
// increasing offset order, and returns the offset after the batch.
func (d *recordDecoder) decodeBatch(topic string, partition int, hwm, baseOffset int64, b []byte, from int64, msgs []kafka.Message) ([]kafka.Message, int64, error) {
	if magic := b[16]; magic != 2 {
		// Message sets v0/v1 (written by clients before Kafka 0.11 and kept
		// by brokers up to 3.x) are not read; Kafka 4 stores only v2.
		return msgs, 0, fmt.Errorf("record batch at %d: magic %d (only v2 is read)", baseOffset, magic)
	}
	if crc := binary.BigEndian.Uint32(b[17:]); crc32.Checksum(b[21:], castagnoli) != crc {
		return msgs, 0, fmt.Errorf("record batch at %d: crc mismatch", baseOffset)
	}
	attrs := binary.BigEndian.Uint16(b[21:])
	after := baseOffset + int64(int32(binary.BigEndian.Uint32(b[23:]))) + 1
	if attrs&attrControl != 0 || after <= from {
		return msgs, after, nil
	}
	baseTime := int64(binary.BigEndian.Uint64(b[27:]))
	maxTime := int64(binary.BigEndian.Uint64(b[35:]))
	count := int(int32(binary.BigEndian.Uint32(b[57:])))
	// own is the one allocation everything the batch's messages keep points
	// into: the decompressed records, or a copy of the answer's bytes (the
	// answer buffer is reused).
	var own []byte
	if c := compress.Compression(attrs & attrCompression); c != compress.None {
		var err error
		if own, err = d.inflate(c, b[batchHeaderSize:]); err != nil {
			return msgs, 0, fmt.Errorf("record batch at %d: decompressing %s: %w", baseOffset, c, err)
		}
	} else {
		own = bytes.Clone(b[batchHeaderSize:])
	}
	if count < 0 || count > len(own) {
		return msgs, 0, fmt.Errorf("record batch at %d: %d records in %d bytes", baseOffset, count, len(own))
	}
	r := varReader{b: own}
	for range count {
		r.varint() // record length
		r.skip(1)  // attributes
		ts := baseTime + r.varint()
		off := baseOffset + r.varint()
		key := r.nullableBytes()
		val := r.nullableBytes()
		var headers []kafka.Header
		if n := int(r.varint()); n > 0 && n <= len(r.b) {
			headers = make([]kafka.Header, n)
			for i := range headers {
				headers[i] = kafka.Header{Key: d.headerKey(r.nullableBytes()), Value: r.nullableBytes()}
			}
		} else if n != 0 {
			r.err = io.ErrUnexpectedEOF
		}
		if r.err != nil {
			return msgs, 0, fmt.Errorf("record batch at %d: %w", baseOffset, r.err)
		}
		if off < from {
			continue // before the fetch offset, or out of order
		}
		from = off + 1
		if attrs&attrLogAppendTime != 0 {
			ts = maxTime
		}
		msgs = append(msgs, kafka.Message{
			Topic: topic, Partition: partition, Offset: off, HighWaterMark: hwm,
			Key: key, Value: val, Headers: headers, Time: time.UnixMilli(ts),
		})
	}
	return msgs, max(after, from), nil
}

// inflate decompresses a batch's records into a new buffer (the messages keep
// it), at most maxInflatedBatch bytes. Snappy and zstd are decoded here with that bound
// checked before anything is allocated: kafka-go's readers size their buffers
// from lengths in the data (a xerial frame length, a snappy or zstd header), so
// a few corrupt bytes could make them allocate gigabytes. gzip and lz4 stream
// within fixed windows and are read through kafka-go's codecs.
func (d *recordDecoder) inflate(c compress.Compression, src []byte) ([]byte, error) {
	var err error
	switch c {
	case compress.Snappy:
		return inflateSnappy(nil, src)
	case compress.Zstd:
		if d.zstd == nil {
			if d.zstd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxMemory(maxInflatedBatch), zstd.WithDecoderMaxWindow(maxInflatedBatch)); err != nil {
				return nil, err
			}
		}
		return d.zstd.DecodeAll(src, nil)
	}
	codec := c.Codec()
	if codec == nil {
		return nil, fmt.Errorf("unknown compression %d", c)
	}
	zr := codec.NewReader(bytes.NewReader(src))
	defer zr.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(io.LimitReader(zr, maxInflatedBatch+1))
	if err == nil && buf.Len() > maxInflatedBatch {
		err = errTooLarge
	}
	return buf.Bytes(), err
}

var errTooLarge = fmt.Errorf("inflates past %d bytes", maxInflatedBatch)

// xerialMagic starts a snappy payload in xerial framing (what the Java client
// and kafka-go write): the magic, then a version and a compatible version
// (4 bytes each), then frames of a 4-byte length and a snappy block.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// inflateSnappy appends to dst the decoded snappy payload src, xerial-framed or
// one raw block, checking every length against what src holds and the total
// against maxInflatedBatch before decoding.
func inflateSnappy(dst, src []byte) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return appendSnappyBlock(dst, src)
	}
	if len(src) < 16 {
		return dst, io.ErrUnexpectedEOF
	}
	src = src[16:]
	for len(src) > 0 {
		if len(src) < 4 {
			return dst, io.ErrUnexpectedEOF
		}
		n := binary.BigEndian.Uint32(src)
		if uint64(n) > uint64(len(src)-4) {
			return dst, io.ErrUnexpectedEOF
		}
		var err error
		if dst, err = appendSnappyBlock(dst, src[4:4+n]); err != nil {
			return dst, err
		}
		src = src[4+n:]
	}
	return dst, nil
}

func appendSnappyBlock(dst, block []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return dst, err
	}
	if n > maxInflatedBatch-len(dst) {
		return dst, errTooLarge
	}
	dst = slices.Grow(dst, n)
	out, err := snappy.Decode(dst[len(dst):len(dst)+n], block)
	if err != nil {
		return dst, err
	}
	return dst[:len(dst)+len(out)], nil
}

// headerKey returns b as a string, the same string for every record with that
// header (a bounded cache: record headers are a handful of fixed names).
func (d *recordDecoder) headerKey(b []byte) string {
	if s, ok := d.headerKeys[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.headerKeys == nil {
		d.headerKeys = map[string]string{}
	}
	if len(d.headerKeys) < 256 {
		d.headerKeys[s] = s
	}
	return s
}

var errVarint = errors.New("bad varint")

// varReader reads a record's zig-zag varints and length-prefixed fields.
type varReader struct {
	b   []byte
	err error
}

func (r *varReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errVarint
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *varReader) skip(n int) {
	if r.err == nil && n > len(r.b) {
		r.err = io.ErrUnexpectedEOF
	}
	if r.err == nil {
		r.b = r.b[n:]
	}
}

// nullableBytes reads a varint length and that many bytes; -1 is nil.
func (r *varReader) nullableBytes() []byte {
	n := r.varint()
	if r.err != nil || n < 0 {
		return nil
	}
	if n > int64(len(r.b)) {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}
