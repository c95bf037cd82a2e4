package unknowns_test

import (
	"fmt"
	"testing"

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
