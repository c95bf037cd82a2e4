package e2e

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/receiver"
)

// Audit reconciles one load period: every acknowledged request id against the
// raw topic, every expected canonical event (the distinct provider events of the
// acknowledged requests) against the canonical topic, and every canonical event
// against the sink.
type Audit struct {
	// Name labels the period (the fault).
	Name string
	// Sent, Acked and NotAcked count requests (not acknowledged ones were refused
	// or failed: the provider would retry them, so they are not owed).
	Sent, Acked, NotAcked int
	// LostRaw counts acknowledged request ids missing from the raw topic.
	LostRaw int
	// ExpectedEvents and LostCanonical count expected canonical events and those
	// missing; Unexpected counts distinct canonical ids of this period's tags
	// beyond what every period so far owes for the tag (a duplicate delivery that
	// was not deduplicated, or an event of a request that was not acknowledged).
	ExpectedEvents, LostCanonical, Unexpected int
	// UnexpectedWhy explains each tag with unexpected events: the request that
	// produced each of its canonical events, and whether it was acknowledged.
	UnexpectedWhy []string
	// DupCanonical counts extra copies of a canonical id on the topic.
	DupCanonical int
	// SinkLost counts canonical events never delivered to the sink; SinkDup the
	// extra deliveries of one idempotency id.
	SinkLost, SinkDup int
	// Recovery is fault end → caught up (everything owed is on the canonical
	// topic and at the sink), or -1 if it never caught up.
	Recovery time.Duration
	// Examples names a few missing ids per kind for the report.
	Examples []string
	// Pause is the longest time without canonical output and without sink
	// deliveries from the fault's injection to the end of its load (pause.go);
	// PauseSteps the same per step of a multi-step fault (scale up, scale down).
	Pause      Pause
	PauseSteps string
	// Notes are the fault's own findings (a scale fault's rebalance times and
	// partitions per member).
	Notes []string
}

// Lost is the sum of every loss.
func (a Audit) Lost() int { return a.LostRaw + a.LostCanonical + a.SinkLost }

// Reconcile computes the audit of st from the observer and the sink as they are now.
func Reconcile(name string, st *Stats, w *Workload, obs *Observer, sink *receiver.Receiver) Audit {
	a := Audit{Name: name, Sent: st.Sent, Acked: st.Acked, NotAcked: st.Sent - st.Acked}
	ids := make([]string, 0, len(st.AckedIDs))
	for id := range st.AckedIDs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if obs.RawCount(id) == 0 {
			a.LostRaw++
			if a.LostRaw <= 3 {
				a.Examples = append(a.Examples, "raw:"+id)
			}
		}
	}
	tags := make([]string, 0, len(st.Expected))
	for tag := range st.Expected {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	for _, tag := range tags {
		want := st.ExpectedEvents(w, tag)
		got := obs.EventsOf(tag)
		a.ExpectedEvents += want
		if len(got) < want {
			a.LostCanonical += want - len(got)
			if a.LostCanonical <= 3 {
				a.Examples = append(a.Examples, fmt.Sprintf("canonical:%s(%d of %d)", tag, len(got), want))
			}
		}
		if owed := st.OwedEvents(w, tag); len(got) > owed {
			a.Unexpected += len(got) - owed
			a.UnexpectedWhy = append(a.UnexpectedWhy, explainUnexpected(tag, got, owed, st, obs))
		}
		for _, id := range got {
			a.DupCanonical += obs.CanonicalCount(id) - 1
			n := 0
			if sink != nil {
				n = sink.Delivered(id)
			}
			if n == 0 {
				a.SinkLost++
				if a.SinkLost <= 3 {
					a.Examples = append(a.Examples, "sink:"+id+"("+tag+")")
				}
			} else {
				a.SinkDup += n - 1
			}
		}
	}
	return a
}

// explainUnexpected names, for a tag with more canonical events than owed, the
// request behind each event (data.raw.request_id) and whether the gateway
// acknowledged it: an event of a request that was never acknowledged (the client
// gave up while the gateway made it durable) is owed to nobody but is no
// duplicate; two events of one request, or of a verbatim re-delivery, would be.
func explainUnexpected(tag string, got []string, owed int, st *Stats, obs *Observer) string {
	sort.Strings(got)
	parts := make([]string, 0, len(got))
	for _, id := range got {
		req := obs.RequestOf(id)
		state := "acked"
		if _, ok := st.AckedAll[req]; !ok && st.AckedAll != nil {
			state = "not-acked"
		}
		parts = append(parts, fmt.Sprintf("%s<-%s(%s)", id[:min(8, len(id))], req, state))
	}
	return fmt.Sprintf("%s: %d events, %d owed: %s", tag, len(got), owed, strings.Join(parts, " "))
}

// caughtUp reports whether nothing owed is missing.
func (a Audit) caughtUp() bool { return a.Lost() == 0 }

// Drain waits until the period is reconciled without loss, or until nothing has
// changed on the topics and the sink for stall, or until limit. It returns the
// final audit with Recovery measured from faultEnd.
func Drain(ctx context.Context, name string, st *Stats, w *Workload, obs *Observer, sink *receiver.Receiver, faultEnd time.Time, stall, limit time.Duration) Audit {
	deadline := time.Now().Add(limit)
	lastSig, lastChange := "", time.Now()
	for {
		a := Reconcile(name, st, w, obs, sink)
		if a.caughtUp() {
			a.Recovery = max(0, time.Since(faultEnd))
			return a
		}
		raw, ce := obs.Totals()
		sig := fmt.Sprint(raw, ce)
		if sink != nil {
			c := sink.Counts()
			sig += fmt.Sprint(" ", c.Deliveries, c.Refused)
		}
		if sig != lastSig {
			lastSig, lastChange = sig, time.Now()
		}
		if time.Since(lastChange) > stall || time.Now().After(deadline) || ctx.Err() != nil {
			a.Recovery = -1
			return a
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// PrintAudits writes the per-fault table.
func PrintAudits(out io.Writer, audits []Audit) {
	fmt.Fprintf(out, "%-28s %8s %8s %9s %10s %10s %9s %9s %9s %9s %10s %9s %10s\n",
		"fault", "acked", "not-ack", "lost-raw", "expected", "lost-canon", "dup-canon", "sink-lost", "sink-dup", "unexpect", "recovery", "pause-ce", "pause-sink")
	for _, a := range audits {
		rec := "NEVER"
		if a.Recovery >= 0 {
			rec = a.Recovery.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(out, "%-28s %8d %8d %9d %10d %10d %9d %9d %9d %9d %10s %9s %10s\n",
			a.Name, a.Acked, a.NotAcked, a.LostRaw, a.ExpectedEvents, a.LostCanonical, a.DupCanonical, a.SinkLost, a.SinkDup, a.Unexpected, rec,
			a.Pause.Canonical.Round(pauseEvery), a.Pause.Sink.Round(pauseEvery))
	}
	for _, a := range audits {
		if a.PauseSteps != "" {
			fmt.Fprintf(out, "  %s pauses by step: %s\n", a.Name, a.PauseSteps)
		}
		for _, n := range a.Notes {
			fmt.Fprintf(out, "  %s: %s\n", a.Name, n)
		}
		for _, why := range a.UnexpectedWhy {
			fmt.Fprintf(out, "  %s unexpected: %s\n", a.Name, why)
		}
		if len(a.Examples) > 0 {
			fmt.Fprintf(out, "  %s missing: %s\n", a.Name, strings.Join(a.Examples, " "))
		}
	}
}
