package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
)

// normalize is the dry run: it maps each body with the provider's adapter, in
// order, applies the events to an in-memory shipment state with the service's
// own identity and state rules (see replay), and prints each emitted canonical
// event as JSON on stdout, one per line (data.advances decided). On stderr it
// prints one line per event (status, advances, or why it was dropped as a
// duplicate) and, at the end, the final state of every shipment.
//
// Bodies: each FILE is one body; without FILE (or with "-") stdin is one JSON
// body, or NDJSON with one body per line. Exit codes: 0 every body mapped, 2 a
// body or a part of one would be dead-lettered (reason on stderr; the other
// bodies are still applied) or bad usage, 1 the input could not be read.
func normalize(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("normalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	provider := fs.String("provider", "", "provider route name: "+strings.Join(adapter.Providers(), ", "))
	receivedAt := fs.String("received-at", "", "gateway receive time of the first body, RFC 3339 (default: now)")
	interval := fs.Duration("interval", time.Second, "receive time between one body and the next")
	window := fs.Duration("redelivery-window", defaultRedeliveryWindow,
		"the same bytes of an event without provider time or id received less than this after they were emitted are a re-delivery (NORMALIZER_REDELIVERY_WINDOW)")
	files, err := parseInterspersed(fs, args) // flags before or after the files
	if err != nil {
		return 2
	}
	if *provider == "" {
		fmt.Fprintln(stderr, "usage: normalizer normalize --provider NAME [--received-at RFC3339] [--interval 1s] [--redelivery-window 10m] [FILE...]   (stdin: one JSON body or NDJSON)")
		return 2
	}
	received := time.Now().UTC()
	if *receivedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *receivedAt)
		if err != nil {
			fmt.Fprintf(stderr, "--received-at: %v\n", err)
			return 2
		}
		received = t.UTC()
	}
	bodies, names, err := readBodies(files, stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	r := newReplay(stdout, stderr, *window)
	code := 0
	for i, body := range bodies {
		rec := adapter.RawRecord{Provider: *provider, Body: body, ReceivedAt: received.Add(time.Duration(i) * *interval),
			Topic: "dry-run", Offset: int64(i)}
		outs, err := adapter.Normalize(rec)
		if err != nil {
			fmt.Fprintf(stderr, "%s: dead-letter: reason=%s: %v\n", names[i], adapter.ReasonOf(err), err)
			if errors.Is(err, adapter.ErrUnknownProvider) {
				fmt.Fprintf(stderr, "known providers: %s\n", strings.Join(adapter.Providers(), ", "))
			}
			code = 2
			continue
		}
		dead, err := r.apply(names[i], outs)
		if err != nil {
			fmt.Fprintf(stderr, "writing output: %v\n", err)
			return 1
		}
		if dead {
			code = 2
		}
	}
	r.summary()
	return code
}

// readBodies returns the bodies to replay and a name for each (the file, or
// "stdin:N" for line N).
func readBodies(files []string, stdin io.Reader) ([][]byte, []string, error) {
	if len(files) == 0 {
		files = []string{"-"}
	}
	var bodies [][]byte
	var names []string
	for _, f := range files {
		if f != "-" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, err
			}
			bodies, names = append(bodies, b), append(names, f)
			continue
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, nil, fmt.Errorf("reading stdin: %w", err)
		}
		if json.Valid(b) || len(bytes.TrimSpace(b)) == 0 {
			// One body, possibly spread over several lines (or empty: the adapter says why it cannot map it).
			bodies, names = append(bodies, b), append(names, "stdin")
			continue
		}
		for n, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			bodies, names = append(bodies, line), append(names, fmt.Sprintf("stdin:%d", n+1))
		}
	}
	return bodies, names, nil
}
