package e2e_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/courierhook/pipeline/deployments/internal/e2e"
)

func TestTemplate_Rewrite(t *testing.T) {
	tp := e2e.Template{Provider: "dash", Body: []byte(`{"deliveryID":"DE-1","other":"DE-1x","list":["DE-1"]}`), IDs: []string{"DE-1"}, Events: 1}
	got := string(tp.Rewrite("e2e7x3"))
	assert.Equal(t, `{"deliveryID":"DE-1-e2e7x3","other":"DE-1x","list":["DE-1-e2e7x3"]}`, got, "only whole JSON strings are rewritten")
	assert.Equal(t, "e2e7x3", e2e.TagOf("dash:DE-1-e2e7x3"))
	assert.Empty(t, e2e.TagOf("dash:DE-1"))
}

func TestWorkload_Mix(t *testing.T) {
	ts := []e2e.Template{
		{Provider: "dash", Name: "early", Body: []byte(`{"id":"A"}`), IDs: []string{"A"}, Events: 1, OccurredAt: "2024-01-01T00:00:00Z"},
		{Provider: "dash", Name: "late", Body: []byte(`{"id":"A"}`), IDs: []string{"A"}, Events: 1, OccurredAt: "2024-01-02T00:00:00Z"},
		{Provider: "komerce", Name: "other", Body: []byte(`{"no":"B"}`), IDs: []string{"B"}, Events: 2},
	}
	w := e2e.NewWorkload(ts, "9")
	seen := map[int]bool{}
	dups, ooo := 0, 0
	for range 2000 {
		r := w.Next()
		seen[r.Template] = true
		assert.True(t, strings.Contains(string(r.Body), r.Tag), "body carries its tag")
		if r.Duplicate {
			dups++
		}
		if r.OutOfOrder {
			ooo++
			assert.Equal(t, 0, r.Template, "the older half of a pair comes second")
		}
	}
	assert.Len(t, seen, 3, "every template is sent")
	assert.InDelta(t, 200, dups, 80, "about 10%% duplicates")
	assert.Positive(t, ooo, "some out-of-order pairs")
}
