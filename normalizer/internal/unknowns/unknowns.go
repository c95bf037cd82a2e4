// Package unknowns makes provider statuses that map to the canonical "unknown"
// visible: a counter labelled with the provider's status value, bounded per
// provider, and one log line the first time each value is seen.
package unknowns

import (
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Other is the value label of every value past the first TopN of a provider.
const Other = "other"

// DefaultTopN is how many distinct values per provider get their own label.
const DefaultTopN = 20

// maxTracked bounds the values remembered per provider for "logged once"; past it
// a value is counted as Other and logged at most once more per provider.
const maxTracked = 1000

// Tracker counts unknown statuses. It is safe for concurrent use.
type Tracker struct {
	topN    int
	counter *prometheus.CounterVec
	log     *zap.Logger

	mu       sync.Mutex
	labelled map[string]map[string]bool // provider -> values with their own label
	seen     map[string]map[string]bool // provider -> values logged
	full     map[string]bool            // provider whose seen set is full (logged)
}

// New registers normalizer_unknown_status_values_total{provider,value} on reg (nil:
// unregistered). The first topN distinct values of each provider (since the
// process started) keep their own value label, later new ones count as "other",
// so the series stay bounded whatever providers send.
func New(reg prometheus.Registerer, topN int, log *zap.Logger) *Tracker {
	if topN <= 0 {
		topN = DefaultTopN
	}
	if log == nil {
		log = zap.NewNop()
	}
	t := &Tracker{
		topN: topN, log: log,
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalizer_unknown_status_values_total",
			Help: "Events whose provider status maps to the canonical unknown status, by provider and provider status value (the first N values per provider, the rest as \"other\").",
		}, []string{"provider", "value"}),
		labelled: map[string]map[string]bool{}, seen: map[string]map[string]bool{}, full: map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(t.counter)
	}
	return t
}

// Observe counts one event of provider whose status value maps to unknown. A nil
// *Tracker does nothing.
// A value is cut to MaxValueBytes (label and log alike): a provider's status is
// a short word, and a long one must not make every scrape carry it.
func (t *Tracker) Observe(provider, value string) {
	if t == nil {
		return
	}
	t.counter.WithLabelValues(provider, t.label(provider, truncate(value, MaxValueBytes))).Inc()
}

// MaxValueBytes bounds a value label and its log line.
const MaxValueBytes = 128

func (t *Tracker) label(provider, value string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := t.seen[provider]
	if seen == nil {
		seen = map[string]bool{}
		t.seen[provider] = seen
		t.labelled[provider] = map[string]bool{}
	}
	if !seen[value] {
		switch {
		case len(seen) < maxTracked:
			seen[value] = true
			t.log.Warn("new unknown provider status", zap.String("provider", provider), zap.String("value", value))
		case !t.full[provider]:
			t.full[provider] = true
			t.log.Warn("too many distinct unknown provider statuses; not logging more", zap.String("provider", provider), zap.Int("tracked", maxTracked))
		}
	}
	lab := t.labelled[provider]
	if lab[value] {
		return value
	}
	if len(lab) < t.topN && seen[value] {
		lab[value] = true
		return value
	}
	return Other
}

// truncate cuts s to at most n bytes, at a UTF-8 character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
