package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/courierhook/pipeline/deployments/internal/seed"
)

// Template is one seed payload, analysed once with the normalizer's dry run
// (`normalizer normalize`) so the load knows which shipment ids to rewrite and how
// many canonical events one delivery of it yields.
type Template struct {
	// Provider is the gateway route name.
	Provider string
	// Name is the fixture's file name without .json.
	Name string
	// Body is the fixture, byte-exact.
	Body []byte
	// IDs are the distinct shipment ids the dry run reported; Rewrite appends the
	// request's tag to every JSON string equal to one of them.
	IDs []string
	// Events is how many canonical events one delivery yields.
	Events int
	// OccurredAt is the latest provider event time of the dry run ("" if none);
	// out-of-order pairs send the later template first.
	OccurredAt string
}

// Rewrite returns the body with every shipment id made unique by tag.
func (t Template) Rewrite(tag string) []byte {
	b := t.Body
	for _, id := range t.IDs {
		old, _ := json.Marshal(id)
		nu, _ := json.Marshal(id + "-" + tag)
		b = bytes.ReplaceAll(b, old, nu)
	}
	return b
}

// ErrTemplate means a seed payload cannot be used as a load template.
var ErrTemplate = errors.New("unusable load template")

// dryRunEvent is the part of a canonical event the analysis reads.
type dryRunEvent struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	Data    struct {
		ShipmentID string `json:"shipment_id"`
		OccurredAt string `json:"occurred_at"`
	} `json:"data"`
}

// dryRun runs `normalizer normalize` on body and returns the events it prints.
func dryRun(ctx context.Context, normalizer, provider string, body []byte) ([]dryRunEvent, error) {
	cmd := exec.CommandContext(ctx, normalizer, "normalize", "--provider", provider, "--received-at", "2026-01-02T03:04:05Z")
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dry run of %s payload: %w: %s", provider, err, strings.TrimSpace(stderr.String()))
	}
	var evs []dryRunEvent
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev dryRunEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("decoding dry-run output: %w", err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// LoadTemplates reads the seed payloads (every provider family) and analyses
// each with the normalizer binary. A template whose rewritten copies do not yield
// distinct, tagged canonical events is an error: the audit could not attribute
// its events to requests.
func LoadTemplates(ctx context.Context, normalizer string) ([]Template, error) {
	var out []Template
	for _, p := range seed.Payloads() {
		evs, err := dryRun(ctx, normalizer, p.Provider, p.Body)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", p.Provider, p.Name, err)
		}
		t := Template{Provider: p.Provider, Name: p.Name, Body: p.Body, Events: len(evs)}
		seen := map[string]bool{}
		for _, ev := range evs {
			if !seen[ev.Data.ShipmentID] {
				seen[ev.Data.ShipmentID] = true
				t.IDs = append(t.IDs, ev.Data.ShipmentID)
			}
			t.OccurredAt = max(t.OccurredAt, ev.Data.OccurredAt)
		}
		// Event-level ids some providers put beside the shipment (Sendstack's
		// webhookId feeds its canonical id) are made unique too.
		var top map[string]any
		if json.Unmarshal(p.Body, &top) == nil {
			for _, k := range []string{"webhookId", "id"} {
				if v, ok := top[k].(string); ok && v != "" && !seen[v] {
					seen[v] = true
					t.IDs = append(t.IDs, v)
				}
			}
		}
		if err := checkRewrite(ctx, normalizer, t); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", p.Provider, p.Name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// checkRewrite proves that two tags give two disjoint sets of canonical ids, each
// subject carrying its tag.
func checkRewrite(ctx context.Context, normalizer string, t Template) error {
	if t.Events == 0 || len(t.IDs) == 0 {
		return fmt.Errorf("%w: no canonical event in the dry run", ErrTemplate)
	}
	ids := map[string]string{}
	for _, tag := range []string{"e2e1x1", "e2e1x2"} {
		evs, err := dryRun(ctx, normalizer, t.Provider, t.Rewrite(tag))
		if err != nil {
			return err
		}
		if len(evs) != t.Events {
			return fmt.Errorf("%w: %d events after rewriting, %d before", ErrTemplate, len(evs), t.Events)
		}
		for _, ev := range evs {
			if TagOf(ev.Subject) != tag {
				return fmt.Errorf("%w: subject %q does not carry tag %s", ErrTemplate, ev.Subject, tag)
			}
			if prev, dup := ids[ev.ID]; dup && prev != tag {
				return fmt.Errorf("%w: canonical id %s does not depend on the shipment id", ErrTemplate, ev.ID)
			}
			ids[ev.ID] = tag
		}
	}
	return nil
}

// tagRE finds a request tag ("e2e<run>x<seq>") in a subject or body.
var tagRE = regexp.MustCompile(`e2e\d+x\d+`)

// TagOf returns the tag in s, or "".
func TagOf(s string) string { return tagRE.FindString(s) }

// Request is one webhook the driver sends.
type Request struct {
	// Template indexes Workload.Templates.
	Template int
	// Tag makes the shipment ids unique; a duplicate reuses an earlier tag.
	Tag string
	// Body is the rewritten payload.
	Body []byte
	// Duplicate marks a verbatim re-delivery of an earlier request.
	Duplicate bool
	// OutOfOrder marks the second (older) half of an out-of-order pair.
	OutOfOrder bool
}

// Workload produces the request mix: round-robin over every template with a
// fresh tag, DupRate of them a verbatim re-send of a recent request, OOORate an
// out-of-order pair (a later status of a shipment, then an earlier one). It is
// safe for concurrent use.
type Workload struct {
	Templates []Template
	// DupRate and OOORate are fractions of Next calls (defaults 0.10 and 0.05).
	DupRate, OOORate float64

	run     string
	mu      sync.Mutex
	seq     int
	rr      int
	recent  []Request
	pending []Request
	pairs   [][2]int
	rng     *rand.Rand
}

// NewWorkload returns a workload whose tags carry run (digits only).
func NewWorkload(templates []Template, run string) *Workload {
	w := &Workload{Templates: templates, DupRate: 0.10, OOORate: 0.05, run: run, rng: rand.New(rand.NewPCG(1, 2))}
	w.pairs = outOfOrderPairs(templates)
	return w
}

// outOfOrderPairs lists (later, earlier) template pairs of one provider that
// describe the same shipment (same id set) at different provider times.
func outOfOrderPairs(ts []Template) [][2]int {
	var pairs [][2]int
	for i, a := range ts {
		for j, b := range ts {
			if a.Provider == b.Provider && strings.Join(a.IDs, ",") == strings.Join(b.IDs, ",") &&
				a.OccurredAt != "" && b.OccurredAt != "" && a.OccurredAt > b.OccurredAt {
				pairs = append(pairs, [2]int{i, j})
			}
		}
	}
	sort.Slice(pairs, func(x, y int) bool { return pairs[x][0]*1000+pairs[x][1] < pairs[y][0]*1000+pairs[y][1] })
	return pairs
}

// Next returns the next request.
func (w *Workload) Next() Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		r := w.pending[0]
		w.pending = w.pending[1:]
		return w.remember(r)
	}
	x := w.rng.Float64()
	switch {
	case x < w.DupRate && len(w.recent) > 0:
		r := w.recent[w.rng.IntN(len(w.recent))]
		r.Duplicate, r.OutOfOrder = true, false
		return r
	case x < w.DupRate+w.OOORate && len(w.pairs) > 0:
		p := w.pairs[w.rng.IntN(len(w.pairs))]
		tag := w.tag()
		later := Request{Template: p[0], Tag: tag, Body: w.Templates[p[0]].Rewrite(tag)}
		earlier := Request{Template: p[1], Tag: tag, Body: w.Templates[p[1]].Rewrite(tag), OutOfOrder: true}
		w.pending = append(w.pending, earlier)
		return w.remember(later)
	}
	i := w.rr % len(w.Templates)
	w.rr++
	tag := w.tag()
	return w.remember(Request{Template: i, Tag: tag, Body: w.Templates[i].Rewrite(tag)})
}

func (w *Workload) tag() string {
	w.seq++
	return "e2e" + w.run + "x" + strconv.Itoa(w.seq)
}

// remember keeps the last 500 requests as candidates for duplicates.
func (w *Workload) remember(r Request) Request {
	if len(w.recent) < 500 {
		w.recent = append(w.recent, r)
	} else {
		w.recent[w.rng.IntN(len(w.recent))] = r
	}
	return r
}
