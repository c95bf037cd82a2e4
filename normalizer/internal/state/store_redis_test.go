package state_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas/shipment"
)

func TestIntegrationRedis_GetPut(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	st := state.NewRedis(r.Client, r.Prefix, time.Hour)
	ctx := t.Context()

	got, err := st.Get(ctx, []string{"komerce:A", "komerce:B"})
	require.NoError(t, err)
	assert.Equal(t, []*state.Shipment{nil, nil}, got)

	a := &state.Shipment{
		End:          &state.Entry{ID: "e1", Status: shipment.StatusDelivered, SubStatus: "delivered.other", Rank: 7, Terminal: true, At: t0.UnixNano(), Timed: true},
		StepUntimed:  &state.Entry{ID: "e0", Status: shipment.StatusInTransit, Rank: 4},
		IssueUntimed: &state.Entry{ID: "e2", Status: shipment.StatusException, Rank: -1},
		Epoch:        3, Last: shipment.StatusDelivered,
	}
	require.NoError(t, st.Put(ctx, map[string]*state.Shipment{"komerce:A": a}))
	got, err = st.Get(ctx, []string{"komerce:B", "komerce:A"})
	require.NoError(t, err)
	assert.Nil(t, got[0])
	require.NotNil(t, got[1])
	assert.Equal(t, *a, *got[1])

	ttl, err := r.Client.TTL(ctx, r.Prefix+"s:komerce:A").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute)

	require.NoError(t, r.Client.Set(ctx, r.Prefix+"s:komerce:B", "{not json", 0).Err())
	got, err = st.Get(ctx, []string{"komerce:B"})
	require.NoError(t, err)
	assert.Nil(t, got[0], "a corrupt value is treated as absent")

	// A value written by the previous rule (latest advancing event) still reads as
	// a terminal shipment, without a provider time (its time mixed two clocks).
	require.NoError(t, r.Client.Set(ctx, r.Prefix+"s:komerce:C",
		`{"s":"delivered","r":7,"t":"2026-03-01T10:00:00Z","x":true,"id":"old"}`, 0).Err())
	got, err = st.Get(ctx, []string{"komerce:C"})
	require.NoError(t, err)
	require.NotNil(t, got[0])
	assert.True(t, got[0].Terminal())
	assert.Equal(t, "old", got[0].EventID())
	_, timed := got[0].OccurredAt()
	assert.False(t, timed)
}
