package dedup_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/platform/testkit"
)

func TestIntegrationRedis_SeenMark(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	d := dedup.NewRedis(r.Client, r.Prefix, 2*time.Second)
	ctx := t.Context()

	seen, err := d.Seen(ctx, []string{"a", "b", "c"})
	require.NoError(t, err)
	assert.Equal(t, []bool{false, false, false}, seen)

	require.NoError(t, d.Mark(ctx, []string{"a", "c"}))
	seen, err = d.Seen(ctx, []string{"a", "b", "c"})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, true}, seen)

	empty, err := d.Seen(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, empty)
	require.NoError(t, d.Mark(ctx, nil))

	require.Eventually(t, func() bool {
		s, err := d.Seen(ctx, []string{"a"})
		return err == nil && !s[0]
	}, 10*time.Second, 100*time.Millisecond, "marks expire after the TTL")
}

// TestIntegrationRedis_WindowMarks: a mark keeps the receive time and the final
// id; a mark in the older format (receive time alone) still reads, without id;
// an unknown id reads as zero.
func TestIntegrationRedis_WindowMarks(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	d := dedup.NewRedis(r.Client, r.Prefix, time.Hour)
	ctx := t.Context()

	pipe := r.Client.Pipeline()
	d.MarkReceivedIn(ctx, pipe, map[string]dedup.WindowMark{"u1": {At: 1700000000123, ID: "q1"}}, time.Minute)
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Client.Set(ctx, r.Prefix+"w:u2", "1700000000456", time.Minute).Err()) // written before the id was kept

	pipe = r.Client.Pipeline()
	res := d.ReceivedIn(ctx, pipe, []string{"u1", "u2", "u3"})
	_, _ = pipe.Exec(ctx)
	got, err := res()
	require.NoError(t, err)
	assert.Equal(t, []dedup.WindowMark{{At: 1700000000123, ID: "q1"}, {At: 1700000000456}, {}}, got)
	for _, k := range []string{"w:u1", "wq:u1"} {
		ttl, err := r.Client.PTTL(ctx, r.Prefix+k).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, 50*time.Second, k)
	}
	// The time key keeps the format a release that did not know the id reads.
	v, err := r.Client.Get(ctx, r.Prefix+"w:u1").Result()
	require.NoError(t, err)
	assert.Equal(t, "1700000000123", v)
}
