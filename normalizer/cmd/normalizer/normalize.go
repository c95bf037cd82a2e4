package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/state"
)

// normalize is the dry-run: it maps one body with the provider's adapter and prints
// the canonical events as JSON, one per line. Advances is decided as if the
// shipments had no earlier state (events in the same body are applied in order).
// Exit codes: 0 mapped, 2 the record would be dead-lettered (reason on stderr) or
// bad usage, 1 the input could not be read.
func normalize(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("normalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	provider := fs.String("provider", "", "provider route name: "+strings.Join(adapter.Providers(), ", "))
	receivedAt := fs.String("received-at", "", "gateway receive time, RFC 3339 (default: now)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *provider == "" || fs.NArg() > 1 {
		fmt.Fprintln(stderr, "usage: normalizer normalize --provider NAME [--received-at RFC3339] [FILE]")
		return 2
	}
	rec := adapter.RawRecord{Provider: *provider, ReceivedAt: time.Now().UTC(), Topic: "dry-run"}
	if *receivedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *receivedAt)
		if err != nil {
			fmt.Fprintf(stderr, "--received-at: %v\n", err)
			return 2
		}
		rec.ReceivedAt = t.UTC()
	}
	in := stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		in = f
	}
	body, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintf(stderr, "reading body: %v\n", err)
		return 1
	}
	rec.Body = body
	outs, err := adapter.Normalize(rec)
	if err != nil {
		fmt.Fprintf(stderr, "dead-letter: reason=%s: %v\n", adapter.ReasonOf(err), err)
		if errors.Is(err, adapter.ErrUnknownProvider) {
			fmt.Fprintf(stderr, "known providers: %s\n", strings.Join(adapter.Providers(), ", "))
		}
		return 2
	}
	shipments := map[string]*state.Shipment{}
	enc := json.NewEncoder(stdout)
	for i := range outs {
		ev := &outs[i].Event
		shipments[ev.Subject], ev.Data.Advances = state.Apply(shipments[ev.Subject], ev)
		if err := enc.Encode(ev); err != nil {
			fmt.Fprintf(stderr, "writing output: %v\n", err)
			return 1
		}
	}
	return 0
}
