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
