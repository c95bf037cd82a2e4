package repair_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// failSecond writes its first call and fails the second without writing.
type failSecond struct {
	w     *kafka.Writer
	calls int
}

func (f *failSecond) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	f.calls++
	if f.calls == 2 {
		return errors.New("broker went away")
	}
	return f.w.WriteMessages(ctx, msgs...)
}

// TestIntegrationRenormalize_emitsOnlyTheCorrections: 30 webhooks went through
// the live normalizer with an adapter that mapped "lost" to unknown; after the
// mapping is fixed (lost -> exception), renormalizing the range emits exactly
// one correction per "lost" event (its own id, data.corrects naming the old
// one), nothing for the others, updates the shipments' state by the live rule,
// resumes after a failure, and emits nothing when run again.
func TestIntegrationRenormalize_emitsOnlyTheCorrections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v1 := mapping{status: map[string]shipment.Status{"picked": shipment.StatusPickedUp, "moving": shipment.StatusInTransit}}
	v2 := mapping{status: map[string]shipment.Status{
		"picked": shipment.StatusPickedUp, "moving": shipment.StatusInTransit, "lost": shipment.StatusException}}

	start := time.Now().Add(-time.Second)
	var msgs []kafka.Message
	for i := range 15 {
		s := fmt.Sprintf("S%02d", i)
		second := "moving"
		if i%3 == 0 {
			second = "lost"
		}
		msgs = append(msgs, rawRecord(2*i, body{Shipment: s, Status: "picked", Seq: 1}),
			rawRecord(2*i+1, body{Shipment: s, Status: second, Seq: 2}))
	}
	e.live(t, v1.normalize)
	e.produce(t, msgs...)
	before := e.events(t, 30)
	require.Len(t, before, 30)
	e.settled(t)
	unknownIDs := map[string]bool{}
	for _, ev := range before {
		if ev.Data.Status == shipment.StatusUnknown {
			unknownIDs[ev.ID] = true
		}
	}
	require.Len(t, unknownIDs, 5)

	states := state.NewRedis(e.r.Client, e.r.Prefix, time.Hour)
	newRun := func(p repair.Producer, dry bool, m mapping) *repair.Renormalizer {
		r, err := repair.NewRenormalizer(repair.RenormalizeConfig{
			RawTopic: e.raw, CanonicalTopic: e.canon, Since: start, DryRun: dry, BatchSize: 4,
		}, e.k.Brokers, repair.RenormalizeDeps{
			Producer: p, Redis: e.r.Client, Prefix: e.r.Prefix, Normalize: m.normalize,
			Store: lookup.NewStore(e.r.Client, e.r.Prefix), Index: lookup.NewIndex(e.r.Prefix, time.Hour, 0),
			Dedup: dedup.NewRedis(e.r.Client, e.r.Prefix, time.Hour), States: states,
		})
		require.NoError(t, err)
		return r
	}

	all30 := repair.Position{Done: 30, Total: 30} // a complete run over the 30 raw records
	n, err := newRun(nil, true, v1).Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, repair.RenormalizeCounts{Read: 30, Unchanged: 30, Scan: all30}, n, "the same adapter changes nothing")

	n, err = newRun(nil, true, v2).Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, repair.RenormalizeCounts{Read: 30, Unchanged: 25, Corrected: 5, Scan: all30}, n, "dry run")

	// Corrections spread over at least two batches of 4 records (at most 4 are
	// "lost" in one), so the second produce comes and fails.
	_, err = newRun(&failSecond{w: e.writer(t)}, false, v2).Run(t.Context())
	require.Error(t, err, "the second produce fails")
	n, err = newRun(e.writer(t), false, v2).Run(t.Context())
	require.NoError(t, err)
	assert.Less(t, n.Read, 30, "the resumed run starts at the checkpoint")
	assert.Equal(t, repair.Position{Done: int64(n.Read), Total: int64(n.Read)}, n.Scan, "its total is what is left after the checkpoint")
	assert.Less(t, n.Corrected, 5, "what the first run emitted is not emitted again")
	assert.Positive(t, n.Corrected)

	after := e.events(t, 35)
	require.Len(t, after, 35, "exactly the corrections were added")
	known := ids(before)
	for _, ev := range after {
		if known[ev.ID] > 0 {
			continue
		}
		assert.Equal(t, shipment.StatusException, ev.Data.Status)
		assert.True(t, unknownIDs[ev.Data.Corrects], "a correction names the unknown event it replaces")
		assert.Equal(t, repair.CorrectionID(ev.Data.Corrects, &ev), ev.ID)
		assert.True(t, ev.Data.Advances, "an exception later than picked_up advances the shipment")
		cur, err := lookup.States{Store: states}.Current(t.Context(), ev.Subject)
		require.NoError(t, err)
		require.NotNil(t, cur)
		assert.Equal(t, "exception", cur.Status, "state follows the correction")
		assert.Equal(t, ev.ID, cur.EventID)
		delete(unknownIDs, ev.Data.Corrects)
	}
	assert.Empty(t, unknownIDs, "every unknown event was corrected once")

	// A new run over the same range (new checkpoint) finds nothing to correct.
	require.NoError(t, e.r.Client.Del(t.Context(), newRun(nil, true, v2).CheckpointKey()).Err())
	n, err = newRun(e.writer(t), false, v2).Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, repair.RenormalizeCounts{Read: 30, Unchanged: 30, Scan: all30}, n)
	assert.Len(t, e.events(t, 35), 35)

	// The index shows the correction beside the event it replaces.
	w, err := lookup.NewStore(e.r.Client, e.r.Prefix).Webhook(t.Context(), "req-001")
	require.NoError(t, err)
	require.Len(t, w.Events, 2)
	latest := w.Latest()
	require.Len(t, latest, 1)
	assert.Equal(t, "exception", latest[0].Status)
}
