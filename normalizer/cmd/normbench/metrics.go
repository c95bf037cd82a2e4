package main

import (
	dto "github.com/prometheus/client_model/go"

	"github.com/courierhook/pipeline/normalizer/internal/consume"
)

// processed is the number of raw records the consumer committed.
func processed(m *consume.Metrics) float64 {
	var out dto.Metric
	c, err := m.RecordsIn.GetMetricWithLabelValues("komerce")
	if err != nil || c.Write(&out) != nil {
		return 0
	}
	return out.GetCounter().GetValue()
}
