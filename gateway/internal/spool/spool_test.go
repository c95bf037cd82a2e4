package spool_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/spool"
)

func rec(i int) spool.Record {
	return spool.Record{
		Key:     []byte(fmt.Sprintf("key-%d", i%3)),
		Value:   []byte(fmt.Sprintf(`{"n":%d}`, i)),
		Headers: []spool.Header{{Key: "request_id", Value: []byte(fmt.Sprint(i))}},
	}
}

func open(t *testing.T, dir string, opts spool.Options) *spool.Spool {
	t.Helper()
	s, err := spool.Open(dir, opts, nil)
	require.NoError(t, err)
	return s
}

// drain reads and commits everything, returning the values in order.
func drain(t *testing.T, s *spool.Spool, batch int) []string {
	t.Helper()
	var out []string
	for {
		es, err := s.ReadBatch(batch, 1<<20)
		require.NoError(t, err)
		if len(es) == 0 {
			return out
		}
		for _, e := range es {
			out = append(out, string(e.Record.Value))
		}
		require.NoError(t, s.Commit(es))
	}
}

func TestSpool_OrderAcrossSegments(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir(), spool.Options{SegmentBytes: 256, MaxBytes: 1 << 20})
	defer s.Close()
	var want []string
	for i := range 100 {
		require.NoError(t, s.Append(t.Context(), rec(i)))
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	st := s.Stats()
	assert.EqualValues(t, 100, st.Records)
	assert.False(t, st.OldestAt.IsZero())
	assert.Equal(t, want, drain(t, s, 7))
	assert.EqualValues(t, 0, s.Len())
	assert.EqualValues(t, 0, s.Stats().Bytes)
}

func TestSpool_ConcurrentAppendsGroupCommit(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir(), spool.Options{})
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				assert.NoError(t, s.Append(context.Background(), rec(g*1000+i)))
			}
		})
	}
	wg.Wait()
	got := drain(t, s, 64)
	assert.Len(t, got, 400)
	// Per goroutine (a sequential producer), order holds.
	last := map[int]int{}
	for _, v := range got {
		var n int
		_, err := fmt.Sscanf(v, `{"n":%d}`, &n)
		require.NoError(t, err)
		g, i := n/1000, n%1000
		if prev, ok := last[g]; ok {
			assert.Greater(t, i, prev)
		}
		last[g] = i
	}
}

func TestSpool_BoundRejectsWhenFull(t *testing.T) {
	t.Parallel()
	frame := int64(len(spool.Frame(rec(0))))
	s := open(t, t.TempDir(), spool.Options{MaxBytes: frame*5 + 3, SegmentBytes: frame * 2})
	defer s.Close()
	for i := range 5 {
		require.NoError(t, s.Append(t.Context(), rec(i)))
	}
	require.ErrorIs(t, s.Append(t.Context(), rec(5)), spool.ErrFull)
	es, err := s.ReadBatch(2, 1<<20)
	require.NoError(t, err)
	require.NoError(t, s.Commit(es))
	require.NoError(t, s.Append(t.Context(), rec(6)), "room again after a commit")
	big := spool.Record{Value: make([]byte, frame*6)}
	require.ErrorIs(t, s.Append(t.Context(), big), spool.ErrTooLarge)
}

func TestSpool_RestartResumesAtCursor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, spool.Options{SegmentBytes: 200})
	for i := range 20 {
		require.NoError(t, s.Append(t.Context(), rec(i)))
	}
	es, err := s.ReadBatch(8, 1<<20)
	require.NoError(t, err)
	require.NoError(t, s.Commit(es))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Append(t.Context(), rec(99)), spool.ErrClosed)

	s2 := open(t, dir, spool.Options{SegmentBytes: 200})
	defer s2.Close()
	assert.EqualValues(t, 12, s2.Len())
	got := drain(t, s2, 5)
	require.Len(t, got, 12)
	assert.Equal(t, `{"n":8}`, got[0])
	assert.Equal(t, `{"n":19}`, got[11])
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	assert.Len(t, segs, 1, "consumed segments are deleted")
}

func TestSpool_TornTailTruncated(t *testing.T) {
	t.Parallel()
	cases := map[string]func(seg []byte) []byte{
		"partial header":  func(b []byte) []byte { return append(b, 0, 0) },
		"partial payload": func(b []byte) []byte { f := spool.Frame(rec(9)); return append(b, f[:len(f)-3]...) },
		"bad checksum": func(b []byte) []byte {
			f := spool.Frame(rec(9))
			f[len(f)-1] ^= 0xff
			return append(b, f...)
		},
		"absurd length": func(b []byte) []byte { return append(b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0) },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := open(t, dir, spool.Options{})
			for i := range 3 {
				require.NoError(t, s.Append(t.Context(), rec(i)))
			}
			require.NoError(t, s.Close())
			segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
			require.Len(t, segs, 1)
			b, err := os.ReadFile(segs[0])
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(segs[0], corrupt(b), 0o640))

			s2 := open(t, dir, spool.Options{})
			defer s2.Close()
			assert.EqualValues(t, 3, s2.Len())
			require.NoError(t, s2.Append(t.Context(), rec(3)), "appends after the truncated tail")
			assert.Equal(t, []string{`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`}, drain(t, s2, 10))
		})
	}
}

func TestSpool_CorruptMiddleSegmentSkipped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	frame := int64(len(spool.Frame(rec(0))))
	s := open(t, dir, spool.Options{SegmentBytes: frame * 2})
	for i := range 6 {
		require.NoError(t, s.Append(t.Context(), rec(i)))
	}
	require.NoError(t, s.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	require.Len(t, segs, 3)
	// Bit rot after recovery scanned it: flip a byte in the middle segment's second frame.
	s2 := open(t, dir, spool.Options{SegmentBytes: frame * 2})
	defer s2.Close()
	b, err := os.ReadFile(segs[1])
	require.NoError(t, err)
	b[frame+frameHeaderLen+2] ^= 0xff
	require.NoError(t, os.WriteFile(segs[1], b, 0o640))
	got := drain(t, s2, 10)
	assert.Equal(t, []string{`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":4}`, `{"n":5}`}, got)
	assert.EqualValues(t, 0, s2.Len())
}

const frameHeaderLen = 8

func TestSpool_AppendHonoursContext(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir(), spool.Options{})
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Append(ctx, rec(0))
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled)
	}
}
