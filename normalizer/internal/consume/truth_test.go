package consume_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/normalizer/internal/state/statetest"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// TestIntegrationConsumer_komerceRealRepeatIsANewEvent: Komerce bodies carry no
// time or event id, so "Dikirim" re-delivered and "Dikirim" after "Gagal
// Kirim" are the same bytes. The re-delivery is one event; the repeat after
// another status is a new one (issue 11), also across batches.
func TestIntegrationConsumer_komerceRealRepeatIsANewEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	// Receive times: the real repeat comes a day later, beyond the re-delivery
	// window (10 min); each re-delivery a minute after its original.
	h.produceRaw(t, komerce("K-R", "Dikirim", t0), komerce("K-R", "Dikirim", t0.Add(time.Minute)))
	h.processed(t, 2)
	h.produceRaw(t, komerce("K-R", "Gagal Kirim", t0.Add(2*time.Hour)))
	h.processed(t, 3)
	h.produceRaw(t, komerce("K-R", "Dikirim", t0.Add(24*time.Hour)), komerce("K-R", "Dikirim", t0.Add(24*time.Hour+time.Minute)))
	h.processed(t, 5)

	evs := h.events(t, 3)
	require.Len(t, evs, 3)
	var statuses []shipment.Status
	ids := map[string]bool{}
	for _, e := range evs {
		statuses = append(statuses, e.Data.Status)
		ids[e.ID] = true
	}
	assert.Equal(t, []shipment.Status{shipment.StatusInTransit, shipment.StatusDeliveryFailed, shipment.StatusInTransit}, statuses)
	assert.Len(t, ids, 3, "three distinct event ids")
	assert.Equal(t, 2.0, testutil.ToFloat64(h.metrics.Duplicates.WithLabelValues("komerce")), "the two re-deliveries")

	st, err := state.NewRedis(h.r.Client, h.r.Prefix, time.Hour).Get(t.Context(), []string{"komerce:K-R"})
	require.NoError(t, err)
	require.NotNil(t, st[0])
	assert.Equal(t, 3, st[0].Epoch)
	assert.Equal(t, shipment.StatusInTransit, st[0].Last)
}

// TestIntegrationConsumer_komerceRetryAfterAnotherStatusIsARedelivery: a
// provider retry of "Dikirim" that arrives after "Gagal Kirim" but within the
// re-delivery window (receive times) is the same webhook again, not a new
// attempt: one event, and neither epoch nor state moves. Within one batch and
// across batches alike.
func TestIntegrationConsumer_komerceRetryAfterAnotherStatusIsARedelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	h.produceRaw(t, komerce("K-W", "Dikirim", t0), komerce("K-W", "Gagal Kirim", t0.Add(time.Minute)),
		komerce("K-W", "Dikirim", t0.Add(2*time.Minute)))
	h.processed(t, 3)
	h.produceRaw(t, komerce("K-W", "Dikirim", t0.Add(9*time.Minute)))
	h.processed(t, 4)

	evs := h.events(t, 2)
	require.Len(t, evs, 2)
	assert.Equal(t, shipment.StatusInTransit, evs[0].Data.Status)
	assert.Equal(t, shipment.StatusDeliveryFailed, evs[1].Data.Status)
	assert.Equal(t, 2.0, testutil.ToFloat64(h.metrics.Duplicates.WithLabelValues("komerce")), "the two retries")
	st, err := state.NewRedis(h.r.Client, h.r.Prefix, time.Hour).Get(t.Context(), []string{"komerce:K-W"})
	require.NoError(t, err)
	require.NotNil(t, st[0])
	assert.Equal(t, 2, st[0].Epoch)
	assert.Equal(t, shipment.StatusDeliveryFailed, st[0].Last)
}

// TestIntegrationConsumer_redeliveryWindowSameInOneBatchOrMany: whether a
// repeat is a re-delivery does not depend on how records fall into batches. A
// copy of "Dikirim" 11 minutes after the first (outside the window, a duplicate
// of the first's id) refreshes the window like any arrival, so the "Dikirim"
// 4 minutes after it, with "Gagal Kirim" between, is a re-delivery: 2 events,
// whether the four records come in one batch (a backlog) or one by one.
func TestIntegrationConsumer_redeliveryWindowSameInOneBatchOrMany(t *testing.T) {
	t.Parallel()
	seq := func(id string) []kafka.Message {
		return []kafka.Message{komerce(id, "Dikirim", t0), komerce(id, "Dikirim", t0.Add(11*time.Minute)),
			komerce(id, "Gagal Kirim", t0.Add(12*time.Minute)), komerce(id, "Dikirim", t0.Add(15*time.Minute))}
	}
	// statuses reads what the canonical topic holds: up to 3 events for 3 s, so
	// a third one (a re-delivery taken for a new event) would be seen.
	statuses := func(h *harness) []shipment.Status {
		var out []shipment.Status
		for _, m := range h.k.ReadAll(t, h.canon, 3, 3*time.Second) {
			var ev shipment.Event
			require.NoError(t, json.Unmarshal(m.Value, &ev))
			out = append(out, ev.Data.Status)
		}
		return out
	}
	want := []shipment.Status{shipment.StatusInTransit, shipment.StatusDeliveryFailed}

	backlog := newHarness(t, 1)
	backlog.produceRaw(t, seq("K-Z1")...) // before the consumer starts: one batch
	backlog.start(t, options{})
	backlog.processed(t, 4)

	oneByOne := newHarness(t, 1)
	oneByOne.start(t, options{})
	for i, m := range seq("K-Z2") {
		oneByOne.produceRaw(t, m)
		oneByOne.processed(t, i+1)
	}

	for name, h := range map[string]*harness{"one batch": backlog, "one record per batch": oneByOne} {
		assert.Equal(t, want, statuses(h), name)
	}
}

// TestIntegrationConsumer_shuffledLifecycles feeds one lifecycle per provider,
// in a shuffled order, through the running consumer: the shipment state in
// Redis ends as the state of the lifecycle applied in life order, and every
// terminal event is on the canonical topic once, with advances=true.
func TestIntegrationConsumer_shuffledLifecycles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	pick := map[string]string{
		"kiriminaja": "kiriminaja express: return (returning then returned)",
		"dash":       "dash logistic: exception, recoverable failure, new attempt, delivered",
		"komerce":    "komerce: happy path",
		"sendstack":  "sendstack: happy path",
	}
	rng := rand.New(rand.NewPCG(7, 11)) // fixed seed: a failure reproduces
	suffix := "-" + strings.ReplaceAll(h.r.Prefix, ":", "")
	received := t0
	var lists [][]kafka.Message
	want := map[string]*state.Shipment{}
	repeatable := map[string]bool{}
	for _, lc := range statetest.Lifecycles(t, suffix) {
		if pick[lc.Provider] != lc.Name {
			continue
		}
		var s *state.Shipment
		for _, e := range statetest.Events(t, lc, received) {
			s, _ = state.Apply(s, &e)
		}
		want[lc.Subject] = s
		order := rng.Perm(len(lc.Steps))
		if order[0] == 0 && order[len(order)-1] == len(order)-1 {
			slices.Reverse(order) // never life order, which would prove nothing
		}
		t.Logf("%s: order %v", lc.Name, order)
		var list []kafka.Message
		for _, i := range order {
			step := lc.Steps[i]
			list = append(list, raw(step.Provider, lc.Subject, step.Body, received))
			received = received.Add(time.Second)
		}
		lists = append(lists, list)
		// Repeatable events get their id from the arrival order, so only their
		// statuses and times can be compared with the life-order run.
		repeatable[lc.Subject] = lc.Provider == "komerce" || lc.Provider == "kiriminaja"
	}
	require.Len(t, want, len(pick), "one lifecycle per provider")
	// Interleave the shipments as the gateway would receive them, each in its
	// own shuffled order.
	var msgs []kafka.Message
	for k := 0; ; k++ {
		added := false
		for _, l := range lists {
			if k < len(l) {
				msgs = append(msgs, l[k])
				added = true
			}
		}
		if !added {
			break
		}
	}
	h.produceRaw(t, msgs...)
	h.processedAll(t, len(msgs))

	evs := h.events(t, len(msgs))
	terminalAdv := map[string]int{}
	terminalSeen := map[string]map[string]int{}
	for _, e := range evs {
		if !e.Data.Terminal {
			continue
		}
		if terminalSeen[e.Subject] == nil {
			terminalSeen[e.Subject] = map[string]int{}
		}
		terminalSeen[e.Subject][e.ID]++
		if e.Data.Advances {
			terminalAdv[e.Subject]++
		}
	}
	subjects := make([]string, 0, len(want))
	for s := range want {
		subjects = append(subjects, s)
	}
	got, err := state.NewRedis(h.r.Client, h.r.Prefix, time.Hour).Get(t.Context(), subjects)
	require.NoError(t, err)
	for i, subj := range subjects {
		require.NotNil(t, got[i], subj)
		assert.Equal(t, view(want[subj], repeatable[subj]), view(got[i], repeatable[subj]), "%s: state in Redis vs life order", subj)
		assert.Equal(t, want[subj].Status(), got[i].Status(), subj)
		assert.Equal(t, 1, terminalAdv[subj], "%s: one terminal event with advances=true", subj)
		for id, n := range terminalSeen[subj] {
			assert.Equal(t, 1, n, "%s: terminal event %s on the canonical topic once", subj, id)
		}
	}
}

// view renders the five summaries; without ids when ids depend on arrival order.
func view(s *state.Shipment, noIDs bool) string {
	e := func(x *state.Entry) string {
		if x == nil {
			return "-"
		}
		id := x.ID
		if noIDs {
			id = ""
		}
		return fmt.Sprintf("%s/%s/r%d/t%v:%d/x%v/%s", x.Status, x.SubStatus, x.Rank, x.Timed, x.At, x.Terminal, id)
	}
	return strings.Join([]string{e(s.End), e(s.StepTimed), e(s.StepUntimed), e(s.IssueTimed), e(s.IssueUntimed)}, " | ")
}

// TestIntegrationConsumer_deadPartIsDeadLetteredAlone: in a multi-order
// KiriminAja body, one order without an id goes to the raw DLQ (its index in
// the error) while the good orders are emitted; the same body delivered again
// dead-letters nothing more and emits nothing more.
func TestIntegrationConsumer_deadPartIsDeadLetteredAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1)
	h.start(t, options{})
	id := strings.ReplaceAll(h.r.Prefix, ":", "")
	body := fmt.Sprintf(`{"method":"finished_packages","data":[
		{"order_id":"OID-A-%[1]s","finished_at":"2025-08-05T06:59:31.000000Z"},
		{"awb":"","finished_at":"2025-08-05T07:00:00.000000Z"},
		{"order_id":"OID-C-%[1]s","finished_at":"2026-06-29T09:56:22Z"}]}`, id)
	rec := raw("kiriminaja", "multi", []byte(body), t0)
	h.produceRaw(t, rec)
	h.processedAll(t, 1)
	h.produceRaw(t, raw("kiriminaja", "multi", []byte(body), t0.Add(time.Minute)))
	h.processedAll(t, 2)

	// Both records are committed, so everything they produced is on the topics.
	var evs []shipment.Event
	for _, m := range h.k.ReadAll(t, h.canon, 3, 5*time.Second) {
		var e shipment.Event
		require.NoError(t, json.Unmarshal(m.Value, &e))
		evs = append(evs, e)
	}
	require.Len(t, evs, 2, "the good orders, once")
	assert.Equal(t, "kiriminaja:OID-A-"+id, evs[0].Subject)
	assert.Equal(t, "kiriminaja:OID-C-"+id, evs[1].Subject)
	for _, e := range evs {
		assert.Equal(t, shipment.StatusDelivered, e.Data.Status)
		assert.True(t, e.Data.Advances)
	}
	dl := h.k.ReadAll(t, h.dlq, 2, 5*time.Second)
	require.Len(t, dl, 1, "the bad order is dead-lettered once, not again on re-delivery")
	assert.Equal(t, []byte(body), dl[0].Value, "the raw record, byte-exact")
	assert.Equal(t, "missing_shipment_id", string(broker.Header(dl[0], schemas.HeaderDLQReason)))
	assert.Contains(t, string(broker.Header(dl[0], schemas.HeaderDLQError)), "[1]", "the error names the order's index")
	assert.Equal(t, h.raw+"/0/0", string(broker.Header(dl[0], schemas.HeaderDLQSource)))
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.DeadLettered.WithLabelValues("missing_shipment_id")))
	assert.Equal(t, 2.0, testutil.ToFloat64(h.metrics.Duplicates.WithLabelValues("kiriminaja")))
}
