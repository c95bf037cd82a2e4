package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/fetch"
)

// fetchVersion is the Fetch version a fetchConn speaks: the newest kafka-go
// encodes (incremental fetch sessions are v7+), and one every Kafka from 2.3 to
// 4.x accepts.
const fetchVersion = 11

// maxFetchAnswer bounds the size a fetch answer may announce before any byte of
// it is allocated: a broker honours MaxBytes except for one first batch larger
// than it, and a size past this is a broken or hostile peer.
const maxFetchAnswer = 256 << 20

// fetchConn is one GroupReader fetch loop's connection to the partitions'
// leader. It writes requests with kafka-go's encoder but reads the answer
// itself: kafka-go's transport decodes a whole answer into 64 KiB pages, at
// least one per record batch, so an answer of a few thousand small batches
// (a busy raw topic: a few records per batch) held tens of MiB of pages for
// a few hundred KiB of records. Here the answer is read into one buffer the
// connection reuses, and each batch's records are copied out once, into one
// allocation per batch (see decodeRecords).
type fetchConn struct {
	addr     string
	clientID string
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)

	conn net.Conn
	rd   *bufio.Reader
	wr   *bufio.Writer
	corr int32
	buf  []byte    // the last answer; reused
	used time.Time // when the connection last answered
}

// maxIdleConn is how long a fetch connection may sit unused before it is
// dialled again instead of used: the broker closes connections idle for
// connections.max.idle.ms (10 minutes by default), and a loop can wait that
// long for its caller to take what it fetched.
const maxIdleConn = 5 * time.Minute

// keptAnswerBuffer is the largest answer buffer kept between requests; one
// for a larger answer (a first batch past MaxBytes) is dropped after use.
const keptAnswerBuffer = 8 << 20

func newFetchConn(addr, clientID string) *fetchConn {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &fetchConn{addr: addr, clientID: clientID, dial: d.DialContext}
}

// roundTrip sends req and reads its answer, waiting at most timeout (or until
// ctx ends). Any failure closes the connection; the next call dials again. The
// answer's record bytes point into the connection's buffer: they are valid
// until the next roundTrip.
func (c *fetchConn) roundTrip(ctx context.Context, req *fetch.Request, timeout time.Duration) (*fetchAnswer, error) {
	ans, err := c.exchange(ctx, req, timeout)
	if err != nil {
		c.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("fetch from %s: %w", c.addr, err)
	}
	return ans, nil
}

func (c *fetchConn) exchange(ctx context.Context, req *fetch.Request, timeout time.Duration) (*fetchAnswer, error) {
	if c.conn != nil && time.Since(c.used) > maxIdleConn {
		c.close()
	}
	if cap(c.buf) > keptAnswerBuffer {
		c.buf = nil // the previous answer was unusually large; its records are copied out
	}
	if c.conn == nil {
		conn, err := c.dial(ctx, "tcp", c.addr)
		if err != nil {
			return nil, err
		}
		c.conn, c.rd, c.wr = conn, bufio.NewReaderSize(conn, 64<<10), bufio.NewWriterSize(conn, 16<<10)
	}
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c.corr++
	if err := protocol.WriteRequest(c.wr, fetchVersion, c.corr, c.clientID, req); err != nil {
		return nil, err
	}
	if err := c.wr.Flush(); err != nil {
		return nil, err
	}
	var head [8]byte // size, correlation id
	if _, err := io.ReadFull(c.rd, head[:]); err != nil {
		return nil, err
	}
	size := int(int32(binary.BigEndian.Uint32(head[:4]))) - 4
	if corr := int32(binary.BigEndian.Uint32(head[4:])); corr != c.corr {
		return nil, fmt.Errorf("answer to request %d while waiting for %d", corr, c.corr)
	}
	if size < 0 || size > maxFetchAnswer {
		return nil, fmt.Errorf("fetch answer of %d bytes", size)
	}
	if cap(c.buf) < size {
		c.buf = make([]byte, size)
	}
	c.buf = c.buf[:size]
	if _, err := io.ReadFull(c.rd, c.buf); err != nil {
		return nil, err
	}
	c.used = time.Now()
	return parseFetchAnswer(c.buf)
}

func (c *fetchConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn, c.rd, c.wr = nil, nil, nil
	}
}

// fetchAnswer is a Fetch v11 answer, without what a consumer outside
// transactions does not read (last stable offset, log start offset, aborted
// transactions, preferred read replica).
type fetchAnswer struct {
	ThrottleTimeMs int32
	ErrorCode      int16
	SessionID      int32
	Topics         []answerTopic
}

type answerTopic struct {
	Topic      string
	Partitions []answerPartition
}

type answerPartition struct {
	Partition     int32
	ErrorCode     int16
	HighWatermark int64
	Records       []byte // the partition's record batches, undecoded; nil when none
}

var errShortAnswer = errors.New("fetch answer ends early")

// parseFetchAnswer reads a Fetch v11 answer body (after the correlation id).
func parseFetchAnswer(b []byte) (*fetchAnswer, error) {
	r := wireReader{b: b}
	ans := &fetchAnswer{ThrottleTimeMs: r.int32(), ErrorCode: r.int16(), SessionID: r.int32()}
	nt := r.arrayLen()
	if nt > 0 {
		ans.Topics = make([]answerTopic, 0, min(nt, len(b)/8))
	}
	for range nt {
		t := answerTopic{Topic: r.string()}
		np := r.arrayLen()
		if np > 0 {
			t.Partitions = make([]answerPartition, 0, min(np, len(b)/8))
		}
		for range np {
			p := answerPartition{Partition: r.int32(), ErrorCode: r.int16(), HighWatermark: r.int64()}
			r.skip(16) // last stable offset, log start offset
			for range r.arrayLen() {
				r.skip(16) // aborted transaction: producer id, first offset
			}
			r.skip(4) // preferred read replica
			p.Records = r.bytes()
			t.Partitions = append(t.Partitions, p)
			if r.err != nil {
				break
			}
		}
		ans.Topics = append(ans.Topics, t)
		if r.err != nil {
			break
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return ans, nil
}

// wireReader reads Kafka's fixed-width big-endian fields from b; past its end
// every read returns zero and err is set.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errShortAnswer
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) skip(n int) { r.take(n) }

func (r *wireReader) int16() int16 {
	if v := r.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *wireReader) int32() int32 {
	if v := r.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (r *wireReader) int64() int64 {
	if v := r.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// arrayLen reads an array's length; null (-1) is empty.
func (r *wireReader) arrayLen() int {
	n := int(r.int32())
	if n < -1 || n > len(r.b) {
		r.err = errShortAnswer
		return 0
	}
	return max(n, 0)
}

func (r *wireReader) string() string {
	n := int(r.int16())
	if n < 0 {
		return ""
	}
	return string(r.take(n))
}

// bytes reads nullable bytes; null is nil.
func (r *wireReader) bytes() []byte {
	n := int(r.int32())
	if n < 0 {
		return nil
	}
	return r.take(n)
}
