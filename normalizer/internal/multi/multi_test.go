package multi_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/multi"
	"github.com/courierhook/pipeline/platform/testkit"
)

// TestIntegrationTx_outcomes: a clean transaction has no error and is applied;
// a command Redis refuses while queueing aborts the whole transaction
// (EXECABORT, nothing written); a command failing inside it is reported while
// the others were applied; commands queued after End run after it in the same
// round trip.
func TestIntegrationTx_outcomes(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	ctx := t.Context()
	k := func(s string) string { return r.Prefix + s }

	pipe := r.Client.Pipeline()
	tx := multi.Begin(ctx, pipe)
	pipe.Do(ctx, "set", k("a"), "1")
	pipe.Do(ctx, "set", k("b"), "2")
	tx.End(ctx, pipe)
	after := pipe.Do(ctx, "get", k("a"))
	_, _ = pipe.Exec(ctx)
	require.NoError(t, tx.Err())
	got, err := after.Text()
	require.NoError(t, err)
	assert.Equal(t, "1", got, "a command after End sees the transaction's writes")

	pipe = r.Client.Pipeline()
	tx = multi.Begin(ctx, pipe)
	pipe.Do(ctx, "set", k("c"), "3")
	pipe.Do(ctx, "set", k("d")) // wrong arity: refused while queueing
	tx.End(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	err = tx.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EXECABORT")
	n, err := r.Client.Exists(ctx, k("c")).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "an aborted transaction writes nothing")

	pipe = r.Client.Pipeline()
	tx = multi.Begin(ctx, pipe)
	pipe.Do(ctx, "lpush", k("a"), "x") // wrong type: fails inside the transaction
	pipe.Do(ctx, "set", k("e"), "5")
	tx.End(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	err = tx.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WRONGTYPE")
	e, err := r.Client.Get(ctx, k("e")).Result()
	require.NoError(t, err)
	assert.Equal(t, "5", e, "the other commands of the transaction were applied")
}

// TestTx_notEnded: a transaction whose End was never queued is an error, not
// a success (nothing is sent: the pipeline never runs).
func TestTx_notEnded(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	tx := multi.Begin(t.Context(), c.Pipeline())
	assert.Error(t, tx.Err())
}
