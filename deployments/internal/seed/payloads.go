package seed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Fixture folders, relative to the repository root, one sub-folder per provider.
const (
	// GatewayFixtures holds the example payloads of the providers' documentation
	// (shared/seeds), verbatim: the seed examples.
	GatewayFixtures = "gateway/internal/provider/testdata"
	// NormalizerFixtures holds the normalizer's golden-test inputs: the seed
	// examples plus drift, edge and poison cases (<case>.json beside
	// <case>.golden.json). Poison cases end in the dead-letter topic.
	NormalizerFixtures = "normalizer/internal/adapter/testdata"
)

// FixtureDirs are the folders Payloads tries by default, in order.
var FixtureDirs = []string{GatewayFixtures, NormalizerFixtures}

// ErrNoPayloads means none of FixtureDirs holds any payload.
var ErrNoPayloads = errors.New("no seed payloads found")

// Payload is one seed example body.
type Payload struct {
	// Provider is the folder name, which is the gateway route name.
	Provider string
	// Name is the file name without .json.
	Name string
	// Path is the file's path.
	Path string
	// Body is the file's content, byte-exact.
	Body []byte
}

// Payloads reads every <provider>/<case>.json (not *.golden.json, not
// *.expected.json) from the first of dirs (default FixtureDirs) under root that
// holds any, sorted by provider then name. dir reports which folder was used.
func Payloads(root string, dirs ...string) (payloads []Payload, dir string, err error) {
	if len(dirs) == 0 {
		dirs = FixtureDirs
	}
	for _, rel := range dirs {
		dir = filepath.Join(root, rel)
		payloads, err = readDir(dir)
		if err != nil {
			return nil, dir, err
		}
		if len(payloads) > 0 {
			return payloads, dir, nil
		}
	}
	return nil, "", fmt.Errorf("%w under %s (looked in %s)", ErrNoPayloads, root, strings.Join(dirs, ", "))
}

func readDir(dir string) ([]Payload, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	sort.Strings(matches)
	var out []Payload
	for _, path := range matches {
		base := filepath.Base(path)
		if !isPayload(base) {
			continue
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading payload: %w", err)
		}
		out = append(out, Payload{
			Provider: filepath.Base(filepath.Dir(path)),
			Name:     strings.TrimSuffix(base, ".json"),
			Path:     path,
			Body:     body,
		})
	}
	return out, nil
}

// isPayload leaves out expected-output files that sit beside the payloads.
func isPayload(name string) bool {
	for _, suffix := range []string{".golden.json", ".expected.json", ".want.json", ".canonical.json"} {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return true
}
