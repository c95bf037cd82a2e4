package spool_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/spool"
)

func TestRecord_RoundTrip(t *testing.T) {
	t.Parallel()
	cases := map[string]spool.Record{
		"empty":        {},
		"no headers":   {Key: []byte("k"), Value: []byte(`{"a":1}`)},
		"with headers": {Key: []byte("k"), Value: []byte("v"), Headers: []spool.Header{{Key: "a", Value: []byte("1")}, {Key: "b"}}},
		"binary value": {Value: []byte{0, 1, 2, 0xff}},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			r.AppendedAt = time.Unix(1700000000, 123).UTC()
			got, err := spool.Decode(spool.Encode(nil, r))
			require.NoError(t, err)
			assert.Equal(t, r.AppendedAt, got.AppendedAt)
			assert.Equal(t, string(r.Key), string(got.Key))
			assert.Equal(t, string(r.Value), string(got.Value))
			require.Len(t, got.Headers, len(r.Headers))
			for i := range r.Headers {
				assert.Equal(t, r.Headers[i].Key, got.Headers[i].Key)
				assert.Equal(t, string(r.Headers[i].Value), string(got.Headers[i].Value))
			}
		})
	}
}

func TestRecord_DecodeRejectsGarbage(t *testing.T) {
	t.Parallel()
	good := spool.Encode(nil, spool.Record{Key: []byte("k"), Value: []byte("v")})
	for name, p := range map[string][]byte{
		"empty":       nil,
		"version":     {9},
		"truncated":   good[:len(good)-1],
		"trailing":    append(append([]byte{}, good...), 0),
		"huge length": {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		_, err := spool.Decode(p)
		assert.ErrorIs(t, err, spool.ErrCorrupt, name)
	}
}

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(spool.Encode(nil, spool.Record{Key: []byte("k"), Value: []byte(`{"a":1}`), Headers: []spool.Header{{Key: "provider", Value: []byte("dash")}}}))
	f.Add(spool.Encode(nil, spool.Record{}))
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 2, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := spool.Decode(p)
		if err != nil {
			return
		}
		again, err := spool.Decode(spool.Encode(nil, r))
		require.NoError(t, err)
		assert.Equal(t, r.Value, again.Value)
		assert.Equal(t, len(r.Headers), len(again.Headers))
	})
}
