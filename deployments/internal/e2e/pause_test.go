package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPauseMeter_CountsAStallInTheStepItBegan drives two counters: canonical
// stalls for 600 ms right after Mark("stall"), the sink never stalls. The
// stall must be counted in that step and nowhere else.
func TestPauseMeter_CountsAStallInTheStepItBegan(t *testing.T) {
	var ce, sk atomic.Int64
	var frozen atomic.Bool
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if !frozen.Load() {
				ce.Add(1)
			}
			sk.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	m := startPauses(ctx, func() int { return int(ce.Load()) }, func() int { return int(sk.Load()) })
	m.Mark("before")
	time.Sleep(400 * time.Millisecond)
	m.Mark("stall")
	frozen.Store(true)
	time.Sleep(600 * time.Millisecond)
	frozen.Store(false)
	m.Mark("after")
	time.Sleep(400 * time.Millisecond)
	steps := m.Stop()

	require.Len(t, steps, 4)
	byStep := map[string]Pause{}
	for _, s := range steps {
		byStep[s.Step] = s
	}
	assert.GreaterOrEqual(t, byStep["stall"].Canonical, 500*time.Millisecond)
	// A step without a stall may still show a pause of about two samples when
	// a sample runs late on a busy machine (one was 200.001 ms): 3 samples is
	// still far below the stall.
	assert.Less(t, byStep["before"].Canonical, 3*pauseEvery)
	assert.Less(t, byStep["after"].Canonical, 3*pauseEvery)
	assert.Less(t, longest(steps).Sink, 3*pauseEvery)
	assert.Equal(t, byStep["stall"].Canonical, longest(steps).Canonical)
	assert.Contains(t, pauseSteps(steps), "stall: canonical")
}
