package seed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	provseed "github.com/courierhook/pipeline/schemas/providers/seed"
)

// NormalizerCases is the folder, relative to the repository root, of the
// normalizer's adapter-specific cases: drift, edge and poison bodies
// (<provider>/<case>.json beside <case>.golden.json). Poison cases end in the
// dead-letter topic. The seed payloads themselves are not there: they live once,
// in schemas/providers/seed.
const NormalizerCases = "normalizer/internal/adapter/testdata"

// ErrNoPayloads means a folder that should hold payloads holds none.
var ErrNoPayloads = errors.New("no payloads found")

// Payload is one webhook body to post.
type Payload struct {
	// Provider is the gateway route name.
	Provider string
	// Name is the case name: the file name without .json.
	Name string
	// Body is the body, byte-exact.
	Body []byte
}

// Payloads returns the seed payloads (the providers' documented examples,
// schemas/providers/seed), sorted by provider then name.
func Payloads() []Payload {
	var out []Payload
	for _, p := range provseed.All() {
		out = append(out, Payload{Provider: p.Provider, Name: p.Name, Body: p.Body})
	}
	return out
}

// AllCases returns the seed payloads followed by the normalizer's own cases read
// from NormalizerCases under root (every <provider>/<case>.json but the expected
// outputs), each group sorted by provider then name.
func AllCases(root string) ([]Payload, error) {
	dir := filepath.Join(root, NormalizerCases)
	matches, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	sort.Strings(matches)
	out := Payloads()
	n := 0
	for _, path := range matches {
		base := filepath.Base(path)
		if strings.HasSuffix(base, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading payload: %w", err)
		}
		out = append(out, Payload{
			Provider: filepath.Base(filepath.Dir(path)),
			Name:     strings.TrimSuffix(base, ".json"),
			Body:     body,
		})
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%w under %s", ErrNoPayloads, dir)
	}
	return out, nil
}
