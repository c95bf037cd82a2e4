package repair_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/platform/testkit"
)

func TestIntegrationProgress_publishedAndExported(t *testing.T) {
	t.Parallel()
	r := testkit.Redis(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(repair.NewProgressCollector(r.Client, r.Prefix))
	require.Equal(t, 0, testutil.CollectAndCount(reg), "nothing before a run")

	repair.PublishProgress(t.Context(), r.Client, r.Prefix, repair.CommandRedrive, repair.RedriveCounts{Read: 7, Redriven: 5, StillDead: 2}.Map(), true)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP normalizer_repair_running 1 while a redrive/renormalize run reports progress and has not finished.
# TYPE normalizer_repair_running gauge
normalizer_repair_running{command="redrive"} 1
`), "normalizer_repair_running"))
	require.Equal(t, float64(2), gauge(t, reg, "still_dead"))

	repair.PublishProgress(t.Context(), r.Client, r.Prefix, repair.CommandRedrive, repair.RedriveCounts{Read: 9, StillDead: 3}.Map(), false)
	require.Equal(t, float64(3), gauge(t, reg, "still_dead"))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP normalizer_repair_running 1 while a redrive/renormalize run reports progress and has not finished.
# TYPE normalizer_repair_running gauge
normalizer_repair_running{command="redrive"} 0
`), "normalizer_repair_running"))
}

func gauge(t *testing.T, reg *prometheus.Registry, count string) float64 {
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "normalizer_repair_records" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "count" && l.GetValue() == count {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no normalizer_repair_records{count=%q}", count)
	return 0
}
