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

	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// killAfter writes normally until its calls-th call, which writes and then fails
// as if the process died before hearing the ack: the batch is in Kafka but not
// marked as redriven.
type killAfter struct {
	w     *kafka.Writer
	calls int
}

var errKilled = errors.New("killed")

func (k *killAfter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	k.calls--
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		return err
	}
	if k.calls == 0 {
		return errKilled
	}
	return nil
}

// TestIntegrationRedrive_afterFixEachEventOnceAlsoWhenKilled: records an adapter
// could not map are dead-lettered; after the mapping is added, a redrive that is
// killed half way (its second batch produced but not recorded) and run again
// makes every event appear on the canonical topic exactly once, and a third run
// sends nothing.
func TestIntegrationRedrive_afterFixEachEventOnceAlsoWhenKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := mapping{
		status: map[string]shipment.Status{"picked": shipment.StatusPickedUp, "moving": shipment.StatusInTransit},
		dead:   map[string]bool{"lost": true},
	}
	after := mapping{status: map[string]shipment.Status{
		"picked": shipment.StatusPickedUp, "moving": shipment.StatusInTransit, "lost": shipment.StatusException}}

	var msgs []kafka.Message
	for i := range 60 {
		st := "moving"
		if i%3 == 0 {
			st = "lost"
		}
		msgs = append(msgs, rawRecord(i, body{Shipment: fmt.Sprintf("S%02d", i), Status: st, Seq: 1}))
	}
	stop := e.live(t, before.normalize)
	e.produce(t, msgs...)
	require.Len(t, e.events(t, 40), 40)
	require.Eventually(t, func() bool { return len(e.k.ReadAll(t, e.dlq, 20, 2*time.Second)) == 20 }, 60*time.Second, 200*time.Millisecond)
	stop()

	// The fix is deployed: the live normalizer and the redrive map "lost" now.
	e.live(t, after.normalize)
	cfg := repair.RedriveConfig{DLQTopic: e.dlq, RawTopic: e.raw, Reason: "unsupported_payload", BatchSize: 5}
	all20 := repair.Position{Done: 20, Total: 20} // a complete run over the 20 dead letters

	dry, err := repair.NewRedriver(repair.RedriveConfig{DLQTopic: e.dlq, RawTopic: e.raw, DryRun: true}, e.k.Brokers, nil, e.r.Client, e.r.Prefix, after.normalize)
	require.NoError(t, err)
	n, err := dry.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, repair.RedriveCounts{Read: 20, Selected: 20, NowMapped: 20, Scan: all20}, n, "dry run")

	stale, err := repair.NewRedriver(cfg, e.k.Brokers, e.writer(t), e.r.Client, e.r.Prefix, before.normalize)
	require.NoError(t, err)
	n, err = stale.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, repair.RedriveCounts{Read: 20, Selected: 20, StillDead: 20, Scan: all20}, n, "with the old adapter nothing maps, nothing is sent")

	killed, err := repair.NewRedriver(cfg, e.k.Brokers, &killAfter{w: e.writer(t), calls: 2}, e.r.Client, e.r.Prefix, after.normalize)
	require.NoError(t, err)
	n, err = killed.Run(t.Context())
	require.ErrorIs(t, err, errKilled)
	assert.Equal(t, 5, n.Redriven, "the first batch was recorded; the second was sent but not recorded")
	assert.Equal(t, repair.Position{Done: 5, Total: 20}, n.Scan, "the position stops after the last batch handled")

	again, err := repair.NewRedriver(cfg, e.k.Brokers, e.writer(t), e.r.Client, e.r.Prefix, after.normalize)
	require.NoError(t, err)
	n, err = again.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 5, n.Done)
	assert.Equal(t, 15, n.Redriven, "the unrecorded batch is sent again")

	evs := e.events(t, 60)
	e.settled(t)
	evs = e.events(t, 60)
	count := ids(evs)
	assert.Len(t, count, 60, "every webhook's event")
	for id, c := range count {
		assert.Equal(t, 1, c, "event %s appears once", id)
	}
	exceptions := 0
	for _, ev := range evs {
		if ev.Data.Status == shipment.StatusException {
			exceptions++
		}
	}
	assert.Equal(t, 20, exceptions)

	n, err = again.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, repair.RedriveCounts{Read: 20, Selected: 20, Done: 20, Scan: all20}, n, "a second run sends nothing")

	// The raw copies are byte-exact with redriven_from and no dlq_* headers, and
	// the lookup index shows the history of a redriven webhook.
	raws := e.k.ReadAll(t, e.raw, 85, 3*time.Second)
	redriven := 0
	for _, m := range raws {
		from := broker.Header(m, lookup.HeaderRedrivenFrom)
		if from == nil {
			continue
		}
		redriven++
		assert.Nil(t, broker.Header(m, schemas.HeaderDLQReason))
		assert.Contains(t, string(m.Value), `"status":"lost"`)
		assert.Equal(t, "bearer", string(broker.Header(m, schemas.HeaderAuth)))
	}
	assert.Equal(t, 25, redriven, "20 records, 5 of them sent twice")
	w, err := lookup.NewStore(e.r.Client, e.r.Prefix).Webhook(t.Context(), "req-000")
	require.NoError(t, err)
	require.NotNil(t, w.DeadLetter)
	assert.Equal(t, "unsupported_payload", w.DeadLetter.Reason)
	require.Len(t, w.Events, 1)
	assert.Equal(t, "exception", w.Events[0].Status)
	assert.Contains(t, w.RedrivenFrom, e.dlq+"/0/")
}
