package seed_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/courierhook/pipeline/schemas/providers"
	"github.com/courierhook/pipeline/schemas/providers/seed"
)

// TestSeeds_EveryProviderAndOnlyProviders: each provider of providers.Providers
// has at least one seed payload, every folder is a provider, and every body is
// valid JSON (the seeds are examples of what each provider sends).
func TestSeeds_EveryProviderAndOnlyProviders(t *testing.T) {
	all := seed.All()
	if len(all) == 0 {
		t.Fatal("no seed payloads embedded")
	}
	seen := map[string]int{}
	for _, p := range all {
		seen[p.Provider]++
		if !slices.Contains(providers.Providers(), p.Provider) {
			t.Errorf("%s/%s: folder %q is not in providers.Providers()", p.Provider, p.Name, p.Provider)
		}
		if !json.Valid(p.Body) {
			t.Errorf("%s/%s: not valid JSON", p.Provider, p.Name)
		}
	}
	for _, name := range providers.Providers() {
		if seen[name] == 0 {
			t.Errorf("provider %s has no seed payload under schemas/providers/seed/%s", name, name)
		}
		if got := len(seed.Of(name)); got != seen[name] {
			t.Errorf("Of(%s) has %d payloads, All has %d", name, got, seen[name])
		}
	}
}

// TestSeeds_NoByteCopies: no two seed payloads are the same bytes (one home each).
func TestSeeds_NoByteCopies(t *testing.T) {
	all := seed.All()
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if bytes.Equal(all[i].Body, all[j].Body) {
				t.Errorf("%s/%s and %s/%s are the same bytes", all[i].Provider, all[i].Name, all[j].Provider, all[j].Name)
			}
		}
	}
}

// TestAll_SortedAndMatchesFS: All is sorted by provider then name and agrees with
// FS and Read byte for byte; bodies are fresh slices.
func TestAll_SortedAndMatchesFS(t *testing.T) {
	all := seed.All()
	if !slices.IsSortedFunc(all, func(a, b seed.Payload) int {
		if a.Provider != b.Provider {
			return strings.Compare(a.Provider, b.Provider)
		}
		return strings.Compare(a.Name, b.Name)
	}) {
		t.Error("All() is not sorted by provider then name")
	}
	files, err := fs.Glob(seed.FS(), "*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(all) {
		t.Errorf("FS has %d files, All %d payloads", len(files), len(all))
	}
	for _, p := range all {
		b, err := fs.ReadFile(seed.FS(), p.Provider+"/"+p.Name+".json")
		if err != nil || !bytes.Equal(b, p.Body) {
			t.Errorf("%s/%s: FS gives %q, %v", p.Provider, p.Name, b, err)
		}
		r, err := seed.Read(p.Provider, p.Name)
		if err != nil || !bytes.Equal(r, p.Body) {
			t.Errorf("%s/%s: Read gives %q, %v", p.Provider, p.Name, r, err)
		}
	}
	first := seed.All()[0]
	first.Body[0] ^= 0xff
	if bytes.Equal(first.Body, seed.All()[0].Body) {
		t.Error("All shares body slices between calls")
	}
}

func TestRead_Unknown(t *testing.T) {
	for _, c := range [][2]string{{"fedex", "x"}, {providers.Dash, "nope"}, {"..", "x"}, {providers.Dash, "../komerce/curl_template"}, {"", ""}} {
		if _, err := seed.Read(c[0], c[1]); !errors.Is(err, seed.ErrNotFound) {
			t.Errorf("Read(%q, %q) = %v, want ErrNotFound", c[0], c[1], err)
		}
	}
	if got := seed.Of("fedex"); len(got) != 0 {
		t.Errorf("Of(fedex) = %v", got)
	}
}
