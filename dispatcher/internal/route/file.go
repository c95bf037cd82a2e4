package route

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Sink kinds.
const (
	KindKafka = "kafka"
	KindHTTP  = "http"
	KindChat  = "chat"
)

// Defaults applied to sink specs that leave a knob out.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultConcurrency = 4
	DefaultQueue       = 1000
	DefaultFailures    = 5
	DefaultOpenFor     = 30 * time.Second
)

// ErrInvalid is wrapped by every validation error Load and Parse return.
var ErrInvalid = errors.New("invalid routes file")

// File is a parsed and validated routing file.
type File struct {
	// Sinks are the declared destinations by name.
	Sinks map[string]SinkSpec `yaml:"sinks"`
	// Routes are evaluated in order; an event goes to the union of the
	// destinations of every route that matches it (each sink at most once).
	Routes []Rule `yaml:"routes"`
}

// SinkSpec declares one destination. Which fields apply depends on Kind.
type SinkSpec struct {
	// Name is the map key in the file; filled by Parse.
	Name string `yaml:"-"`
	// Kind is kafka, http or chat.
	Kind string `yaml:"kind"`
	// Topic is the destination topic (kind kafka). Records keep the canonical key.
	Topic string `yaml:"topic"`
	// URL is the endpoint (kinds http and chat).
	URL string `yaml:"url"`
	// Secrets sign HTTP deliveries per Standard Webhooks ("whsec_<base64>").
	// Several secrets produce several signatures, for rotation. "${VAR}" is
	// expanded from the environment so secrets need not live in the file.
	Secrets []string `yaml:"secrets"`
	// Headers are extra request headers (kinds http and chat).
	Headers map[string]string `yaml:"headers"`
	// Template is the chat text, a Go text/template over shipment.Event (kind chat).
	Template string `yaml:"template"`
	// Redact lists field paths ("data.reason") or presets (phones, names,
	// addresses) removed from the payload before it leaves (every kind).
	Redact []string `yaml:"redact"`
	// Timeout bounds one delivery attempt. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is the number of parallel delivery lanes. Events with one key
	// always use the same lane, so one shipment's events reach the sink in order
	// while nothing fails. Default 4.
	Concurrency int `yaml:"concurrency"`
	// Queue is the per-lane backlog. A delivery that finds its lane's queue full
	// goes to the first retry topic at once instead of blocking the partition.
	// Default 1000.
	Queue int `yaml:"queue"`
	// Breaker configures the sink's circuit breaker.
	Breaker BreakerSpec `yaml:"breaker"`
}

// BreakerSpec configures a sink's circuit breaker (sony/gobreaker).
type BreakerSpec struct {
	// Failures is the number of consecutive failed attempts that opens the
	// breaker. Default 5.
	Failures uint32 `yaml:"failures"`
	// OpenFor is how long the breaker stays open before letting a probe through.
	// Default 30s.
	OpenFor time.Duration `yaml:"open_for"`
	// HalfOpenRequests is how many probes pass while half-open. Default 1.
	HalfOpenRequests uint32 `yaml:"half_open_requests"`
}

// Rule is one routing rule: the events its Match selects go to its sinks.
type Rule struct {
	// Name identifies the route in errors and logs.
	Name string `yaml:"name"`
	// Match selects events; see Expr.
	Match *Expr `yaml:"match"`
	// To names one or more sinks declared in the same file.
	To []string `yaml:"to"`
}

// Lookup resolves "${VAR}" references in secrets, URLs and headers. app passes
// os.LookupEnv; tests pass a map.
type Lookup func(name string) (string, bool)

// Load reads and validates the routing file at path.
func Load(path string, lookup Lookup) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading routes file: %w", err)
	}
	f, err := Parse(b, lookup)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a routing file. Unknown keys are errors.
func Parse(b []byte, lookup Lookup) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	var errs []error
	if len(f.Sinks) == 0 {
		errs = append(errs, errors.New("no sinks declared"))
	}
	if len(f.Routes) == 0 {
		errs = append(errs, errors.New("no routes declared"))
	}
	for _, name := range sortedKeys(f.Sinks) {
		s := f.Sinks[name]
		s.Name = name
		if err := s.expand(lookup); err != nil {
			errs = append(errs, fmt.Errorf("sink %q: %w", name, err))
		}
		s.defaults()
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("sink %q: %w", name, err))
		}
		f.Sinks[name] = s
	}
	names := map[string]bool{}
	for i, r := range f.Routes {
		label := fmt.Sprintf("route %d", i+1)
		if r.Name != "" {
			label = fmt.Sprintf("route %q", r.Name)
			if names[r.Name] {
				errs = append(errs, fmt.Errorf("%s: duplicate route name", label))
			}
			names[r.Name] = true
		}
		if r.Match == nil {
			errs = append(errs, fmt.Errorf("%s: empty route: no match (use `match: {always: true}` to send every event)", label))
		} else if err := r.Match.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: match: %w", label, err))
		}
		if len(r.To) == 0 {
			errs = append(errs, fmt.Errorf("%s: empty route: no destinations in `to`", label))
		}
		for _, to := range r.To {
			if _, ok := f.Sinks[to]; !ok {
				errs = append(errs, fmt.Errorf("%s: unknown sink %q (declared: %s)", label, to, strings.Join(sortedKeys(f.Sinks), ", ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w:\n  %w", ErrInvalid, errors.Join(errs...))
	}
	return &f, nil
}

func (s *SinkSpec) expand(lookup Lookup) error {
	var missing []string
	ex := func(v string) string {
		return os.Expand(v, func(k string) string {
			val, ok := lookup(k)
			if !ok {
				missing = append(missing, k)
			}
			return val
		})
	}
	s.URL = ex(s.URL)
	for i := range s.Secrets {
		s.Secrets[i] = ex(s.Secrets[i])
	}
	for k, v := range s.Headers {
		s.Headers[k] = ex(v)
	}
	if len(missing) > 0 {
		return fmt.Errorf("environment variables not set: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (s *SinkSpec) defaults() {
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.Queue == 0 {
		s.Queue = DefaultQueue
	}
	if s.Breaker.Failures == 0 {
		s.Breaker.Failures = DefaultFailures
	}
	if s.Breaker.OpenFor == 0 {
		s.Breaker.OpenFor = DefaultOpenFor
	}
	if s.Breaker.HalfOpenRequests == 0 {
		s.Breaker.HalfOpenRequests = 1
	}
}

func (s *SinkSpec) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Timeout < 0 || s.Concurrency < 0 || s.Queue < 0 || s.Breaker.OpenFor < 0 {
		bad("timeout, concurrency, queue and breaker.open_for must not be negative")
	}
	switch s.Kind {
	case KindKafka:
		if s.Topic == "" {
			bad("kind kafka needs a topic")
		}
		if s.URL != "" || len(s.Secrets) > 0 || s.Template != "" || len(s.Headers) > 0 {
			bad("kind kafka takes no url, secrets, headers or template")
		}
	case KindHTTP, KindChat:
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("kind %s needs an http(s) url", s.Kind)
		}
		if s.Topic != "" {
			bad("kind %s takes no topic", s.Kind)
		}
		if s.Kind == KindHTTP {
			if len(s.Secrets) == 0 {
				bad("kind http needs at least one signing secret (whsec_<base64>)")
			}
			for i, sec := range s.Secrets {
				if _, err := DecodeSecret(sec); err != nil {
					bad("secrets[%d]: %v", i, err)
				}
			}
			if s.Template != "" {
				bad("kind http takes no template")
			}
		} else {
			if len(s.Secrets) > 0 {
				bad("kind chat takes no secrets (incoming webhooks authenticate by URL)")
			}
			if err := checkTemplate(s.Template); err != nil {
				bad("template: %v", err)
			}
		}
	case "":
		bad("missing kind (kafka, http or chat)")
	default:
		bad("unknown kind %q (want kafka, http or chat)", s.Kind)
	}
	for _, r := range s.Redact {
		if _, ok := RedactPresets[r]; !ok && !strings.HasPrefix(r, "data.") {
			bad("redact %q: want a preset (%s) or a field path under data.", r, strings.Join(sortedKeys(RedactPresets), ", "))
		}
	}
	return errors.Join(errs...)
}

// RedactPresets expands the redact shorthands into field paths of the canonical event.
var RedactPresets = map[string][]string{
	"phones": {"data.origin.phone", "data.destination.phone", "data.courier.phone"},
	"names":  {"data.origin.name", "data.destination.name", "data.courier.name"},
	"addresses": {
		"data.origin.address", "data.origin.latitude", "data.origin.longitude",
		"data.destination.address", "data.destination.latitude", "data.destination.longitude",
	},
}

// RedactPaths expands presets and returns the field paths to remove, sorted.
func (s SinkSpec) RedactPaths() []string {
	var out []string
	for _, r := range s.Redact {
		if p, ok := RedactPresets[r]; ok {
			out = append(out, p...)
		} else {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// DecodeSecret decodes a Standard Webhooks secret: "whsec_" followed by base64.
func DecodeSecret(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "whsec_") {
		return nil, errors.New(`secret must look like "whsec_<base64>"`)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil {
		return nil, errors.New("secret is not valid base64 after whsec_")
	}
	if len(k) < 16 {
		return nil, errors.New("secret is shorter than 16 bytes")
	}
	return k, nil
}

// checkTemplate parses the chat template and runs it once over a sample event,
// so a misspelt field ({{.Data.Shipment}}) fails at start, not on the first event.
func checkTemplate(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("kind chat needs a template")
	}
	t, err := template.New("chat").Option("missingkey=error").Parse(text)
	if err != nil {
		return err
	}
	sample := shipment.Event{Data: shipment.Data{Provider: "dash", ShipmentID: "S1", Status: shipment.StatusException}}
	return t.Execute(new(bytes.Buffer), sample)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
