package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// pauseEvery is how often the pause meter samples its counters: the
// resolution of the reported pauses.
const pauseEvery = 100 * time.Millisecond

// Pause is the longest interval without progress of one pipeline output during
// a fault: the longest time, sampled every 100 ms, in which no new canonical
// record reached the harness's tail (Canonical) or no delivery reached the sink
// (Sink). Under the steady load an idle stage shows as a pause, so a consumer
// group's rebalance (every member stops fetching until the new assignment) and
// a service's restart show here. A pause is counted in the step (Mark) that
// was current at the first sample that found no progress.
type Pause struct {
	// Step is the label Mark gave ("" before the first Mark).
	Step            string
	Canonical, Sink time.Duration
}

// pauseMeter samples two progress counters until stopped.
type pauseMeter struct {
	canonical, sink func() int

	mu    sync.Mutex
	steps []Pause
	stop  context.CancelFunc
	done  chan struct{}
}

// startPauses samples canonical and sink (cumulative counters) every
// pauseEvery until Stop.
func startPauses(ctx context.Context, canonical, sink func() int) *pauseMeter {
	ctx, cancel := context.WithCancel(ctx)
	m := &pauseMeter{canonical: canonical, sink: sink, steps: []Pause{{}}, stop: cancel, done: make(chan struct{})}
	go m.run(ctx)
	return m
}

// gap tracks one counter: its last value, since when it has not moved, and
// whether a pause is open (a sample found no progress) with the step current
// at that first sample.
type gap struct {
	last  int
	since time.Time
	open  bool
	step  int
}

func (m *pauseMeter) run(ctx context.Context) {
	defer close(m.done)
	now := time.Now()
	ce := gap{last: m.canonical(), since: now}
	sk := gap{last: m.sink(), since: now}
	tick := time.NewTicker(pauseEvery)
	defer tick.Stop()
	observe := func(g *gap, v int, now time.Time, set func(p *Pause, d time.Duration)) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !g.open {
			g.step = len(m.steps) - 1
		}
		set(&m.steps[g.step], now.Sub(g.since))
		if v != g.last {
			g.last, g.since, g.open = v, now, false
		} else {
			g.open = true
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			observe(&ce, m.canonical(), now, func(p *Pause, d time.Duration) { p.Canonical = max(p.Canonical, d) })
			observe(&sk, m.sink(), now, func(p *Pause, d time.Duration) { p.Sink = max(p.Sink, d) })
		}
	}
}

// Mark starts a new step: pauses that begin from now on are counted in it.
func (m *pauseMeter) Mark(step string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.steps = append(m.steps, Pause{Step: step})
}

// Stop ends the sampling and returns the steps, the unlabelled one before the
// first Mark included.
func (m *pauseMeter) Stop() []Pause {
	m.stop()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Pause(nil), m.steps...)
}

// longest is the longest pause of each output over the steps.
func longest(steps []Pause) Pause {
	var p Pause
	for _, s := range steps {
		p.Canonical, p.Sink = max(p.Canonical, s.Canonical), max(p.Sink, s.Sink)
	}
	return p
}

// pauseSteps formats the labelled steps ("1→3: canonical 1.2s, sink 0.3s; ...").
func pauseSteps(steps []Pause) string {
	var parts []string
	for _, s := range steps {
		if s.Step == "" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: canonical %s, sink %s", s.Step,
			s.Canonical.Round(pauseEvery), s.Sink.Round(pauseEvery)))
	}
	return strings.Join(parts, "; ")
}
