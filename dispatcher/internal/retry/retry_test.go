package retry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
)

func TestNewTiers(t *testing.T) {
	tests := map[string]struct {
		delays     []time.Duration
		jitter     float64
		wantErr    string
		wantTopics []string
	}{
		"defaults":          {delays: retry.DefaultDelays, wantTopics: []string{"r.10s", "r.1m", "r.10m", "r.1h"}},
		"sub-second":        {delays: []time.Duration{100 * time.Millisecond, 2 * time.Second}, wantTopics: []string{"r.100ms", "r.2s"}},
		"none":              {wantErr: "at least one delay"},
		"not positive":      {delays: []time.Duration{0}, wantErr: "not positive"},
		"decreasing":        {delays: []time.Duration{time.Minute, time.Second}, wantErr: "must increase"},
		"equal share topic": {delays: []time.Duration{time.Minute, time.Minute}, wantErr: "must increase"},
		"jitter too large":  {delays: []time.Duration{time.Second}, jitter: 1, wantErr: "jitter"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tiers, err := retry.NewTiers("r.", tc.delays, tc.jitter)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantTopics, tiers.Topics())
		})
	}
}
