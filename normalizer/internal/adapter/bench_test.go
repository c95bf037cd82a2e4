package adapter_test

import (
	"testing"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
)

// BenchmarkNormalize measures the adapters alone over each provider's
// non-poison fixtures, reporting canonical events per second.
func BenchmarkNormalize(b *testing.B) {
	for _, p := range []string{"kiriminaja", "dash", "komerce", "sendstack"} {
		b.Run(p, func(b *testing.B) {
			var recs []adapter.RawRecord
			for _, f := range fixtures(b, p) {
				rec := fixtureRecord(p, f.Name, f.Body)
				if _, err := adapter.Normalize(rec); err == nil {
					recs = append(recs, rec)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			events := 0
			for i := 0; i < b.N; i++ {
				outs, err := adapter.Normalize(recs[i%len(recs)])
				if err != nil {
					b.Fatal(err)
				}
				events += len(outs)
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
