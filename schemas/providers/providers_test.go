package providers_test

import (
	"slices"
	"testing"

	"github.com/courierhook/pipeline/schemas/providers"
)

// TestProviders_SortedUniqueAndFresh: Providers is sorted, has no duplicate or empty
// name, and returns a new slice each call (a caller's edit does not leak).
func TestProviders_SortedUniqueAndFresh(t *testing.T) {
	got := providers.Providers()
	if len(got) == 0 {
		t.Fatal("no providers")
	}
	if !slices.IsSorted(got) {
		t.Errorf("Providers() = %v, not sorted", got)
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Providers() = %v has duplicates", got)
	}
	for _, p := range got {
		if p == "" {
			t.Error("empty provider name")
		}
	}
	got[0] = "changed"
	if providers.Providers()[0] == "changed" {
		t.Error("Providers() shares its backing array between calls")
	}
}
