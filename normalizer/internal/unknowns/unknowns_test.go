package unknowns_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/courierhook/pipeline/normalizer/internal/unknowns"
)

func TestTracker_boundsLabelsAndLogsEachValueOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zap.InfoLevel)
	tr := unknowns.New(reg, 3, zap.New(core))
	for i := range 5 {
		v := fmt.Sprintf("S%d", i)
		tr.Observe("dash", v)
		tr.Observe("dash", v)
	}
	tr.Observe("komerce", "Nyasar")
	var nilTracker *unknowns.Tracker
	nilTracker.Observe("dash", "x") // no panic

	m, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, m, 1)
	got := map[string]float64{}
	for _, s := range m[0].GetMetric() {
		l := s.GetLabel()
		got[l[0].GetValue()+"/"+l[1].GetValue()] = s.GetCounter().GetValue()
	}
	assert.Equal(t, map[string]float64{"dash/S0": 2, "dash/S1": 2, "dash/S2": 2, "dash/other": 4, "komerce/Nyasar": 1}, got)
	assert.Equal(t, 6, logs.FilterMessage("new unknown provider status").Len(), "one line per distinct value")
}

// TestTracker_cutsLongValues: a long value is cut to MaxValueBytes at a
// character boundary in the label and the log, and values that agree on their
// first MaxValueBytes share one label.
func TestTracker_cutsLongValues(t *testing.T) {
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zap.InfoLevel)
	tr := unknowns.New(reg, 5, zap.New(core))
	long := strings.Repeat("é", unknowns.MaxValueBytes) // 2 bytes each
	tr.Observe("dash", long+"A")
	tr.Observe("dash", long+"B")

	m, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, m, 1)
	require.Len(t, m[0].GetMetric(), 1, "both values share the cut label")
	v := m[0].GetMetric()[0].GetLabel()[1].GetValue()
	assert.Len(t, v, unknowns.MaxValueBytes)
	assert.True(t, utf8.ValidString(v))
	assert.EqualValues(t, 2, m[0].GetMetric()[0].GetCounter().GetValue())
	require.Equal(t, 1, logs.FilterMessage("new unknown provider status").Len())
	assert.Equal(t, v, logs.All()[0].ContextMap()["value"])
}
