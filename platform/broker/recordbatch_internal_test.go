package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rec(off int64, key string, headers ...protocol.Header) protocol.Record {
	return protocol.Record{
		Offset: off, Time: time.UnixMilli(1000 + off),
		Key: protocol.NewBytes([]byte(key)), Value: protocol.NewBytes([]byte("v-" + key)), Headers: headers,
	}
}

// encodeBatch is one v2 record batch as a broker sends it, written by
// kafka-go's encoder: base offset base, records at offsets base+i (their
// Offset fields are deltas), with attrs (compression, control bit).
func encodeBatch(t testing.TB, base int64, attrs protocol.Attributes, recs ...protocol.Record) []byte {
	t.Helper()
	rs := protocol.RecordSet{Version: 2, Attributes: attrs, Records: protocol.NewRecordReader(recs...)}
	var buf bytes.Buffer
	_, err := rs.WriteTo(&buf)
	require.NoError(t, err)
	b := buf.Bytes()[4:] // the record set's size prefix
	binary.BigEndian.PutUint64(b, uint64(base))
	return b
}

// kafkaGoRecords decodes data with kafka-go's own decoder: the oracle.
func kafkaGoRecords(t testing.TB, data []byte) []kafka.Message {
	t.Helper()
	var rs protocol.RecordSet
	framed := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	_, err := rs.ReadFrom(bytes.NewReader(append(framed, data...)))
	require.NoError(t, err)
	var out []kafka.Message
	for {
		r, err := rs.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		k, _ := protocol.ReadAll(r.Key)
		v, _ := protocol.ReadAll(r.Value)
		m := kafka.Message{Offset: r.Offset, Key: k, Value: v, Time: r.Time}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)})
		}
		out = append(out, m)
	}
}

func TestDecodeRecords(t *testing.T) {
	control := protocol.Attributes(attrControl)
	tests := map[string]struct {
		data     [][]byte
		from     int64
		offsets  []int64
		wantNext int64
	}{
		"no records": {from: 7, wantNext: 7},
		"batch starting before the requested offset": {
			data: [][]byte{encodeBatch(t, 3, 0, rec(0, "a"), rec(1, "b"), rec(2, "c"))},
			from: 4, offsets: []int64{4, 5}, wantNext: 6,
		},
		"control batch is skipped and moved past": {
			data: [][]byte{
				encodeBatch(t, 10, 0, rec(0, "a")),
				encodeBatch(t, 11, control, rec(0, "marker")),
				encodeBatch(t, 12, 0, rec(0, "b")),
			},
			from: 10, offsets: []int64{10, 12}, wantNext: 13,
		},
		"only a control batch still advances": {
			data: [][]byte{encodeBatch(t, 20, control, rec(0, "marker"))},
			from: 20, wantNext: 21,
		},
		"everything below the requested offset": {
			data: [][]byte{encodeBatch(t, 1, 0, rec(0, "a"), rec(1, "b"))},
			from: 3, wantNext: 3,
		},
		"compressed batches": {
			data: [][]byte{
				encodeBatch(t, 0, protocol.Attributes(compress.Snappy), rec(0, "a"), rec(1, "b")),
				encodeBatch(t, 2, protocol.Attributes(compress.Lz4), rec(0, "c")),
				encodeBatch(t, 3, protocol.Attributes(compress.Gzip), rec(0, "d")),
				encodeBatch(t, 4, protocol.Attributes(compress.Zstd), rec(0, "e")),
			},
			from: 0, offsets: []int64{0, 1, 2, 3, 4}, wantNext: 5,
		},
		"a truncated last batch is left for the next fetch": {
			data: func() [][]byte {
				last := encodeBatch(t, 2, 0, rec(0, "c"))
				return [][]byte{encodeBatch(t, 0, 0, rec(0, "a"), rec(1, "b")), last[:len(last)-3]}
			}(),
			from: 0, offsets: []int64{0, 1}, wantNext: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var d recordDecoder
			msgs, next, err := d.decodeRecords("topic", 2, 99, bytes.Join(tc.data, nil), tc.from)
			require.NoError(t, err)
			assert.Equal(t, tc.wantNext, next)
			var got []int64
			for _, m := range msgs {
				got = append(got, m.Offset)
				assert.Equal(t, "topic", m.Topic)
				assert.Equal(t, 2, m.Partition)
				assert.EqualValues(t, 99, m.HighWaterMark)
				assert.Equal(t, "v-"+string(m.Key), string(m.Value))
			}
			assert.Equal(t, tc.offsets, got)
		})
	}
}

// TestDecodeRecords_SameAsKafkaGo decodes random batches (sizes, null keys and
// values, headers, every compression) with decodeRecords and with kafka-go's
// decoder and requires the same messages.
func TestDecodeRecords_SameAsKafkaGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	codecs := []compress.Compression{compress.None, compress.Gzip, compress.Snappy, compress.Lz4, compress.Zstd}
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	var d recordDecoder // one decoder for every round, as a fetch loop keeps it
	for round := range 300 {
		var data []byte
		base := int64(rng.IntN(1000))
		for range 1 + rng.IntN(4) {
			n := 1 + rng.IntN(20)
			recs := make([]protocol.Record, n)
			for i := range recs {
				r := protocol.Record{Offset: int64(i), Time: time.UnixMilli(1_700_000_000_000 + rng.Int64N(1e6))}
				if rng.IntN(5) > 0 {
					r.Key = protocol.NewBytes(blob(rng.IntN(40)))
				}
				if rng.IntN(8) > 0 {
					r.Value = protocol.NewBytes(blob(rng.IntN(3000)))
				}
				for h := range rng.IntN(4) {
					r.Headers = append(r.Headers, protocol.Header{Key: fmt.Sprintf("h%d", h), Value: blob(rng.IntN(30))})
				}
				recs[i] = r
			}
			data = append(data, encodeBatch(t, base, protocol.Attributes(codecs[rng.IntN(len(codecs))]), recs...)...)
			base += int64(n)
		}
		want := kafkaGoRecords(t, data)
		got, next, err := d.decodeRecords("t", 0, 0, data, 0)
		require.NoError(t, err, "round %d", round)
		require.Len(t, got, len(want), "round %d", round)
		assert.Equal(t, base, next)
		for i := range want {
			g, w := got[i], want[i]
			require.Equal(t, w.Offset, g.Offset)
			require.Equal(t, w.Time.UnixMilli(), g.Time.UnixMilli())
			require.True(t, bytes.Equal(w.Key, g.Key), "round %d record %d key", round, i)
			require.True(t, bytes.Equal(w.Value, g.Value), "round %d record %d value", round, i)
			require.Equal(t, len(w.Headers), len(g.Headers))
			for h := range w.Headers {
				require.Equal(t, w.Headers[h].Key, g.Headers[h].Key)
				require.True(t, bytes.Equal(w.Headers[h].Value, g.Headers[h].Value))
			}
		}
	}
}

func TestDecodeRecords_OwnsItsBytes(t *testing.T) {
	data := encodeBatch(t, 0, 0, rec(0, "k", protocol.Header{Key: "h", Value: []byte("one")}))
	var d recordDecoder
	msgs, _, err := d.decodeRecords("t", 0, 0, data, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	for i := range data {
		data[i] = 0 // the answer buffer is reused: the message must not see it
	}
	assert.Equal(t, "k", string(msgs[0].Key))
	assert.Equal(t, "v-k", string(msgs[0].Value))
	assert.Equal(t, []kafka.Header{{Key: "h", Value: []byte("one")}}, msgs[0].Headers)
}

func TestDecodeRecords_BrokenBatch(t *testing.T) {
	good := encodeBatch(t, 0, 0, rec(0, "a"))
	bad := encodeBatch(t, 1, 0, rec(0, "b"))
	bad[len(bad)-1] ^= 0xff // the crc no longer matches

	var d recordDecoder
	_, next, err := d.decodeRecords("t", 0, 0, bad, 1)
	require.ErrorContains(t, err, "crc mismatch", "a broken first batch is an error")
	assert.EqualValues(t, 1, next)

	msgs, next, err := d.decodeRecords("t", 0, 0, append(append([]byte(nil), good...), bad...), 0)
	require.NoError(t, err, "records before a broken batch are delivered; the rest is fetched again")
	require.Len(t, msgs, 1)
	assert.EqualValues(t, 1, next)
}

// FuzzDecodeRecords: no input makes the decoder panic, and every offset it
// returns is at or after from, in order, below next.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(encodeBatch(f, 0, 0, rec(0, "a"), rec(1, "b")), int64(0))
	f.Add(encodeBatch(f, 5, protocol.Attributes(compress.Snappy), rec(0, "a", protocol.Header{Key: "h", Value: []byte("v")})), int64(5))
	f.Add(encodeBatch(f, 9, protocol.Attributes(compress.Lz4), rec(0, "a")), int64(3))
	f.Add(encodeBatch(f, 1, protocol.Attributes(attrControl), rec(0, "a")), int64(1))
	f.Fuzz(func(t *testing.T, data []byte, from int64) {
		if len(data) >= batchHeaderSize && from%2 == 0 {
			// Half the inputs become one well-framed batch with a valid crc, so
			// the fuzzer reaches the record parsing behind the checksum.
			data = bytes.Clone(data)
			binary.BigEndian.PutUint32(data[8:], uint32(len(data)-12))
			data[16] = 2
			binary.BigEndian.PutUint32(data[17:], crc32.Checksum(data[21:], castagnoli))
		}
		var d recordDecoder
		msgs, next, _ := d.decodeRecords("t", 0, 0, data, from)
		prev := from - 1
		for _, m := range msgs {
			if m.Offset <= prev || m.Offset >= next {
				t.Fatalf("offset %d after %d, next %d", m.Offset, prev, next)
			}
			prev = m.Offset
		}
	})
}

// FuzzParseFetchAnswer: no answer body makes the parser panic or return
// records outside the body.
func FuzzParseFetchAnswer(f *testing.F) {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 0)          // throttle
	b = binary.BigEndian.AppendUint16(b, 0)          // error
	b = binary.BigEndian.AppendUint32(b, 7)          // session
	b = binary.BigEndian.AppendUint32(b, 1)          // topics
	b = binary.BigEndian.AppendUint16(b, 1)          // topic name length
	b = append(b, 't')                               //
	b = binary.BigEndian.AppendUint32(b, 1)          // partitions
	b = binary.BigEndian.AppendUint32(b, 0)          // partition
	b = binary.BigEndian.AppendUint16(b, 0)          // error
	b = binary.BigEndian.AppendUint64(b, 5)          // high watermark
	b = append(b, make([]byte, 16)...)               // last stable, log start
	b = binary.BigEndian.AppendUint32(b, 0xffffffff) // aborted: null
	b = binary.BigEndian.AppendUint32(b, 0xffffffff) // preferred replica
	batch := encodeBatch(f, 0, 0, rec(0, "a"))
	b = binary.BigEndian.AppendUint32(b, uint32(len(batch)))
	b = append(b, batch...)
	f.Add(b)
	f.Fuzz(func(t *testing.T, body []byte) {
		ans, err := parseFetchAnswer(body)
		if err != nil {
			return
		}
		n := 0
		for _, tp := range ans.Topics {
			for _, p := range tp.Partitions {
				n += len(p.Records)
			}
		}
		if n > len(body) {
			t.Fatalf("records of %d bytes from a body of %d", n, len(body))
		}
	})
}

func TestParseFetchAnswer(t *testing.T) {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 3)  // throttle
	b = binary.BigEndian.AppendUint16(b, 0)  // error
	b = binary.BigEndian.AppendUint32(b, 77) // session
	b = binary.BigEndian.AppendUint32(b, 1)  // topics
	b = binary.BigEndian.AppendUint16(b, 3)
	b = append(b, "raw"...)
	b = binary.BigEndian.AppendUint32(b, 2) // partitions
	for p, recs := range [][]byte{nil, encodeBatch(t, 4, 0, rec(0, "a"))} {
		b = binary.BigEndian.AppendUint32(b, uint32(p))
		b = binary.BigEndian.AppendUint16(b, uint16(p)) // error code = index
		b = binary.BigEndian.AppendUint64(b, 10)
		b = append(b, make([]byte, 16)...)
		b = binary.BigEndian.AppendUint32(b, 1) // one aborted transaction
		b = append(b, make([]byte, 16)...)
		b = binary.BigEndian.AppendUint32(b, 0xffffffff)
		if recs == nil {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
		} else {
			b = binary.BigEndian.AppendUint32(b, uint32(len(recs)))
			b = append(b, recs...)
		}
	}
	ans, err := parseFetchAnswer(b)
	require.NoError(t, err)
	assert.EqualValues(t, 3, ans.ThrottleTimeMs)
	assert.EqualValues(t, 77, ans.SessionID)
	require.Len(t, ans.Topics, 1)
	assert.Equal(t, "raw", ans.Topics[0].Topic)
	require.Len(t, ans.Topics[0].Partitions, 2)
	assert.Nil(t, ans.Topics[0].Partitions[0].Records)
	assert.EqualValues(t, 1, ans.Topics[0].Partitions[1].ErrorCode)
	var d recordDecoder
	msgs, next, err := d.decodeRecords("raw", 1, 10, ans.Topics[0].Partitions[1].Records, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.EqualValues(t, 4, msgs[0].Offset)
	assert.EqualValues(t, 5, next)

	_, err = parseFetchAnswer(b[:len(b)-1])
	assert.ErrorIs(t, err, errShortAnswer)
}
