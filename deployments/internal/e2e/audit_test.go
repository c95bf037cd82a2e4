package e2e

import (
	"encoding/json"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonicalRecord is a canonical event as the observer reads it.
func canonicalRecord(t *testing.T, id, subject, requestID string) kafka.Message {
	t.Helper()
	v, err := json.Marshal(map[string]any{"id": id, "subject": subject,
		"data": map[string]any{"raw": map[string]any{"request_id": requestID}}})
	require.NoError(t, err)
	return kafka.Message{Value: v}
}

// TestReconcile_PairAcrossPeriodsIsNotUnexpected: the two halves of an
// out-of-order pair sent in two periods owe two events over the run; the second
// period sees both on the topic and must not count one as unexpected (it counted
// 1 when a period compared a tag's events with its own share only).
func TestReconcile_PairAcrossPeriodsIsNotUnexpected(t *testing.T) {
	w := &Workload{Templates: []Template{{Provider: "dash", Name: "a", Events: 1}, {Provider: "dash", Name: "b", Events: 1}}}
	d := &Driver{Work: w}
	tag := "e2e1x1"
	obs := NewObserver()

	d.Begin()
	d.record(Request{Template: 0, Tag: tag}, "req-1", 200, 0, nil)
	p1 := d.End()
	obs.canonical(canonicalRecord(t, "ev-a", "dash:SHIP-"+tag, "req-1"))
	a1 := Reconcile("p1", p1, w, obs, nil) // drained before the next period starts

	d.Begin()
	d.record(Request{Template: 1, Tag: tag}, "req-2", 200, 0, nil)
	p2 := d.End()
	obs.canonical(canonicalRecord(t, "ev-b", "dash:SHIP-"+tag, "req-2"))

	require.NotEmpty(t, TagOf("dash:SHIP-"+tag), "test tag must match the workload's tag pattern")
	a2 := Reconcile("p2", p2, w, obs, nil)
	assert.Equal(t, 0, a1.Unexpected+a2.Unexpected, "%v %v", a1.UnexpectedWhy, a2.UnexpectedWhy)
	assert.Equal(t, 0, a1.LostCanonical+a2.LostCanonical)
}

// TestReconcile_ExtraEventIsExplained: a third distinct event for a tag that owes
// two is counted and explained by the request that produced it.
func TestReconcile_ExtraEventIsExplained(t *testing.T) {
	w := &Workload{Templates: []Template{{Provider: "dash", Name: "a", Events: 1}, {Provider: "dash", Name: "b", Events: 1}}}
	d := &Driver{Work: w}
	tag := "e2e1x2"
	obs := NewObserver()
	d.Begin()
	d.record(Request{Template: 0, Tag: tag}, "req-1", 200, 0, nil)
	d.record(Request{Template: 1, Tag: tag}, "req-2", 200, 0, nil)
	d.record(Request{Template: 1, Tag: tag}, "req-3", 504, 0, nil)
	p := d.End()
	obs.canonical(canonicalRecord(t, "ev-a", "dash:SHIP-"+tag, "req-1"))
	obs.canonical(canonicalRecord(t, "ev-b", "dash:SHIP-"+tag, "req-2"))
	obs.canonical(canonicalRecord(t, "ev-c", "dash:SHIP-"+tag, "req-3"))
	a := Reconcile("p", p, w, obs, nil)
	assert.Equal(t, 1, a.Unexpected)
	require.Len(t, a.UnexpectedWhy, 1)
	assert.Contains(t, a.UnexpectedWhy[0], "req-3(not-acked)")
	assert.Contains(t, a.UnexpectedWhy[0], "req-1(acked)")
}
