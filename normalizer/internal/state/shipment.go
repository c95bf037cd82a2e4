package state

import (
	"cmp"
	"math"
	"time"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Entry is one event as the state keeps it: what is needed to order it within
// its class and to say what the shipment's current status is.
type Entry struct {
	ID        string          `json:"i"`
	Status    shipment.Status `json:"s"`
	SubStatus string          `json:"u,omitempty"`
	Rank      int             `json:"r"`
	// At is the provider time (Data.OccurredAt) in Unix nanoseconds, saturated
	// to the int64 range; meaningful only when Timed. The gateway's receive time
	// is never kept: it is another clock.
	At       int64 `json:"t,omitempty"`
	Timed    bool  `json:"h,omitempty"`
	Terminal bool  `json:"x,omitempty"`
}

// Time returns the provider time of e, when it has one.
func (e *Entry) Time() (time.Time, bool) {
	if e == nil || !e.Timed {
		return time.Time{}, false
	}
	return time.Unix(0, e.At).UTC(), true
}

// Shipment is what the normalizer remembers about one shipment (one event key,
// "{provider}:{shipment id}"): five summaries, each the greatest event of its
// class under that class's total order (see Apply), and the arrival-order
// identity counter of the repeatable events (see Arrive).
//
// A Shipment is a value: Apply and Arrive return a new one when anything
// changes and never modify the one they are given.
type Shipment struct {
	// End is the greatest terminal event (Data.Terminal).
	End *Entry `json:"end,omitempty"`
	// StepTimed and StepUntimed are the greatest non-terminal lifecycle events
	// (Status.Rank() >= 0) with and without a provider time.
	StepTimed   *Entry `json:"lt,omitempty"`
	StepUntimed *Entry `json:"lu,omitempty"`
	// IssueTimed and IssueUntimed are the greatest non-terminal exception events
	// with and without a provider time.
	IssueTimed   *Entry `json:"xt,omitempty"`
	IssueUntimed *Entry `json:"xu,omitempty"`
	// Epoch counts status changes in arrival order and Last is the status of the
	// last non-duplicate event that arrived (see Arrive).
	Epoch int             `json:"ep,omitempty"`
	Last  shipment.Status `json:"la,omitempty"`
}

// class is one of the five summaries.
type class int

const (
	classEnd class = iota
	classStepTimed
	classStepUntimed
	classIssueTimed
	classIssueUntimed
)

// slot returns the summary of class c.
func (s *Shipment) slot(c class) **Entry {
	switch c {
	case classEnd:
		return &s.End
	case classStepTimed:
		return &s.StepTimed
	case classStepUntimed:
		return &s.StepUntimed
	case classIssueTimed:
		return &s.IssueTimed
	default:
		return &s.IssueUntimed
	}
}

// EntryOf is ev as the state keeps it, and its class; ok is false for an event
// that is never part of the state (status unknown, or outside the vocabulary).
func entryOf(ev *shipment.Event) (Entry, class, bool) {
	d := &ev.Data
	e := Entry{ID: ev.ID, Status: d.Status, SubStatus: d.SubStatus, Rank: d.Status.Rank(), Terminal: d.Terminal}
	if d.OccurredAt != nil && !d.OccurredAt.IsZero() {
		e.At, e.Timed = unixNano(*d.OccurredAt), true
	}
	switch {
	case d.Status == shipment.StatusUnknown || !d.Status.Valid():
		return e, 0, false
	case d.Terminal:
		return e, classEnd, true
	case e.Rank >= 0 && e.Timed:
		return e, classStepTimed, true
	case e.Rank >= 0:
		return e, classStepUntimed, true
	case d.Status != shipment.StatusException:
		return e, 0, false
	case e.Timed:
		return e, classIssueTimed, true
	default:
		return e, classIssueUntimed, true
	}
}

// unixNano is t in Unix nanoseconds, saturated outside the years 1678..2262
// (which UnixNano cannot represent), so the order of stored times never wraps.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	default:
		return t.UnixNano()
	}
}

var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// precedence orders terminal statuses: a delivery outranks a return, which
// outranks a cancellation, which outranks any other terminal status.
func precedence(s shipment.Status) int {
	switch s {
	case shipment.StatusDelivered:
		return 3
	case shipment.StatusReturned:
		return 2
	case shipment.StatusCancelled:
		return 1
	default:
		return 0
	}
}

// compare orders two entries of class c (negative: a before b). Every class
// ends with (status, sub_status, id) so the order is total; the keys in front
// of that are the rule:
//
//	End:          precedence, timed (absent < present), provider time
//	StepTimed:    provider time, rank
//	StepUntimed:  rank
//	IssueTimed:   provider time
//	IssueUntimed: (none)
func compare(c class, a, b *Entry) int {
	var k int
	switch c {
	case classEnd:
		k = cmp.Or(cmp.Compare(precedence(a.Status), precedence(b.Status)),
			cmpBool(a.Timed, b.Timed), cmp.Compare(a.At, b.At))
	case classStepTimed:
		k = cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Rank, b.Rank))
	case classStepUntimed:
		k = cmp.Compare(a.Rank, b.Rank)
	case classIssueTimed:
		k = cmp.Compare(a.At, b.At)
	}
	return cmp.Or(k, cmp.Compare(a.Status, b.Status), cmp.Compare(a.SubStatus, b.SubStatus), cmp.Compare(a.ID, b.ID))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	default:
		return 1
	}
}

// Current is the shipment's current event, derived from the summaries (nil
// for a shipment with none):
//
//  1. the terminal summary, when set;
//  2. else L, the higher-ranked of the two lifecycle summaries (equal rank:
//     the timed one), and X, the timed exception summary, else the untimed one;
//  3. when both L and X exist and both have a provider time, the later wins
//     (equal: X); when either lacks one they are not comparable and X wins: a
//     problem stays visible until something provably later, or a terminal
//     event, resolves it;
//  4. otherwise whichever of L and X exists.
func (s *Shipment) Current() *Entry {
	if s == nil {
		return nil
	}
	if s.End != nil {
		return s.End
	}
	l := s.StepTimed
	if u := s.StepUntimed; u != nil && (l == nil || u.Rank > l.Rank) {
		l = u
	}
	x := s.IssueTimed
	if x == nil {
		x = s.IssueUntimed
	}
	switch {
	case l != nil && x != nil:
		if l.Timed && x.Timed && l.At > x.At {
			return l
		}
		return x
	case x != nil:
		return x
	default:
		return l
	}
}

// Status is the current status, "" for a shipment with no event in its state.
func (s *Shipment) Status() shipment.Status {
	if c := s.Current(); c != nil {
		return c.Status
	}
	return ""
}

// SubStatus is the current sub-status.
func (s *Shipment) SubStatus() string {
	if c := s.Current(); c != nil {
		return c.SubStatus
	}
	return ""
}

// Terminal reports whether a terminal event was applied: then the current
// event is terminal and only a terminal event of higher precedence replaces it.
func (s *Shipment) Terminal() bool { return s != nil && s.End != nil }

// EventID is the CloudEvents id of the current event.
func (s *Shipment) EventID() string {
	if c := s.Current(); c != nil {
		return c.ID
	}
	return ""
}

// OccurredAt is the provider time of the current event, when it has one.
func (s *Shipment) OccurredAt() (time.Time, bool) { return s.Current().Time() }

// Apply adds ev to the shipment's state and says whether ev advances it. cur
// is nil for a shipment never seen before. It returns the new state (cur
// itself when nothing changed) and the advance decision.
//
// The state is a join over the set of events applied: each summary keeps the
// greatest event of its class under a total order (compare), so applying the
// same events in any order, any number of times, ends in the same state.
// Provider time and the gateway's receive time are different clocks, so the
// receive time is never used: events without a provider time are ordered by
// rank alone, and never against timed ones except by rank (Current).
//
// Events with status unknown are never part of the state (they say nothing
// about where the shipment is) and never advance.
//
// ev advances iff it is the current event after it was applied, unless the
// shipment was already terminal with the same status and another current
// event (a second "delivered" is news, not progress). So a terminal event for
// a shipment not yet terminal always advances; a late re-send of an earlier
// step never does; a real new attempt with a later provider time does
// (delivery_failed at t2, then out_for_delivery at t3). Applying an event again
// gives the same decision as the first time.
func Apply(cur *Shipment, ev *shipment.Event) (*Shipment, bool) {
	e, c, ok := entryOf(ev)
	if !ok {
		return cur, false
	}
	var next Shipment
	if cur != nil {
		next = *cur
	}
	p := next.slot(c)
	changed := *p == nil || compare(c, *p, &e) < 0
	if changed {
		*p = &e
	}
	before, after := cur.Current(), next.Current()
	adv := after != nil && *after == e &&
		!(cur.Terminal() && before.Status == after.Status && before.ID != after.ID)
	if !changed {
		return cur, adv
	}
	return &next, adv
}
