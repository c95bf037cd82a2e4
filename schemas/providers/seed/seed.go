// Package seed holds the providers' seed payloads once: the example webhook bodies
// of each provider's documentation and seeds (shared/seeds), byte-exact, as
// <provider>/<case>.json. The gateway's tests and load tool, the normalizer's
// adapter tests and the deployments demo all read them from here; no module keeps
// a copy. It is a package of its own so that importing the provider names
// (package providers) does not put these bodies into the service binaries.
//
// Adapter-specific cases (drift, poison, edge) and expected outputs
// (*.golden.json) stay beside the tests that own them.
package seed

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed */*.json
var files embed.FS

// ErrNotFound means no seed payload has the given provider and name.
var ErrNotFound = errors.New("seed payload not found")

// Payload is one seed body.
type Payload struct {
	// Provider is the provider route name (the folder).
	Provider string
	// Name is the case name: the file name without .json.
	Name string
	// Body is the file's content, byte-exact. Each call returns a new slice.
	Body []byte
}

// FS returns the payloads as a read-only file system of <provider>/<case>.json.
func FS() fs.FS { return files }

// All returns every payload, sorted by provider then name.
func All() []Payload {
	dirs, _ := files.ReadDir(".") // embedded: cannot fail
	var out []Payload
	for _, d := range dirs {
		out = append(out, Of(d.Name())...)
	}
	return out
}

// Of returns provider's payloads sorted by name; none for an unknown provider.
func Of(provider string) []Payload {
	entries, err := files.ReadDir(provider)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	out := make([]Payload, 0, len(names))
	for _, n := range names {
		body, _ := files.ReadFile(path.Join(provider, n+".json")) // listed above: cannot fail
		out = append(out, Payload{Provider: provider, Name: n, Body: body})
	}
	return out
}

// Read returns the body of provider's case name (without .json), or an error
// wrapping ErrNotFound.
func Read(provider, name string) ([]byte, error) {
	if !fs.ValidPath(provider) || !fs.ValidPath(name) || strings.Contains(provider+name, "/") {
		return nil, fmt.Errorf("%w: %q/%q", ErrNotFound, provider, name)
	}
	body, err := files.ReadFile(path.Join(provider, name+".json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, provider, name)
	}
	return body, nil
}
