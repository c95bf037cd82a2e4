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

	a := &state.Shipment{Status: shipment.StatusDelivered, Rank: 7, At: t0, Terminal: true, EventID: "e1"}
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
}
