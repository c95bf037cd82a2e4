package adapter_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// TestUnknownRate maps every fixture and lists the bodies that still map (in
// part) to status unknown, so the note can say why each one is genuinely
// unknown. Run with -v to see them. An unknown event must carry
// unknown.unmapped and not be terminal (kept and counted, never guessed).
func TestUnknownRate(t *testing.T) {
	var bodies, events, unknown int
	var names []string
	for _, provider := range mutationProviders {
		for _, fx := range fixtures(t, provider) {
			outs, err := adapter.Normalize(fixtureRecord(provider, fx.Name, fx.Body))
			if err != nil {
				continue // dead-lettered, not unknown
			}
			bodies++
			hit := false
			for _, o := range live(outs) {
				events++
				if d := o.Event.Data; d.Status == shipment.StatusUnknown {
					unknown++
					hit = true
					require.Equal(t, shipment.SubUnknownUnmapped, d.SubStatus)
					require.False(t, d.Terminal)
				}
			}
			if hit {
				names = append(names, provider+"/"+fx.Name)
			}
		}
	}
	sort.Strings(names)
	t.Logf("unknown rate: %d of %d mapped bodies (%d of %d events) map to unknown: %s",
		len(names), bodies, unknown, events, strings.Join(names, ", "))
}
