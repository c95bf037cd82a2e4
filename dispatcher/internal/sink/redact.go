package sink

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Redactor removes configured field paths from canonical event JSON.
type Redactor struct {
	paths [][]string
}

// NewRedactor returns a redactor for dot-separated field paths ("data.origin.phone").
// No paths gives a redactor that returns its input unchanged.
func NewRedactor(paths []string) *Redactor {
	r := &Redactor{}
	for _, p := range paths {
		r.paths = append(r.paths, strings.Split(p, "."))
	}
	return r
}

// Apply returns body with the fields removed. Without paths it returns body
// itself, byte-exact. Removing rather than masking keeps the event valid against
// the canonical schema, whose personal fields are all optional.
func (r *Redactor) Apply(body []byte) ([]byte, error) {
	if r == nil || len(r.paths) == 0 {
		return body, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, Permanent(fmt.Errorf("decoding event for redaction: %w", err))
	}
	for _, p := range r.paths {
		remove(doc, p)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, Permanent(fmt.Errorf("encoding redacted event: %w", err))
	}
	return out, nil
}

func remove(m map[string]any, path []string) {
	for len(path) > 1 {
		next, ok := m[path[0]].(map[string]any)
		if !ok {
			return
		}
		m, path = next, path[1:]
	}
	delete(m, path[0])
}
