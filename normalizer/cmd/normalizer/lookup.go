package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/courierhook/pipeline/normalizer/internal/lookup"
)

// lookupCmd prints a lookup API answer: `lookup shipment PROVIDER ID` or `lookup
// webhook REQUEST_ID [--raw] [--dispatch]`, the flags anywhere after the kind.
// The API is the normalizer's ops listener: NORMALIZER_LOOKUP_URL (default
// http://127.0.0.1:9094, the service's default ops address), with
// NORMALIZER_LOOKUP_TOKEN as bearer token. Exit codes: 0 found, 3 not found, 1
// failed, 2 bad usage.
func lookupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: normalizer lookup shipment PROVIDER SHIPMENT_ID | normalizer lookup webhook REQUEST_ID [--raw] [--dispatch]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	kind, args := args[0], args[1:]
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	raw := fs.Bool("raw", false, "include the raw webhook body (may hold personal data)")
	dispatch := fs.Bool("dispatch", false, "include dispatch outcomes (scans the dispatcher's retry and DLQ topics, bounded)")
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	base := os.Getenv("NORMALIZER_LOOKUP_URL")
	if base == "" {
		base = "http://127.0.0.1:9094"
	}
	c := &lookup.Client{Base: base, Token: os.Getenv("NORMALIZER_LOOKUP_TOKEN")}
	var (
		code int
		body []byte
	)
	switch {
	case kind == "shipment" && len(ids) == 2 && !*raw && !*dispatch:
		code, body, err = c.Shipment(ctx, ids[0], ids[1])
	case kind == "webhook" && len(ids) == 1:
		var inc []string
		if *raw {
			inc = append(inc, "raw")
		}
		if *dispatch {
			inc = append(inc, "dispatch")
		}
		code, body, err = c.Webhook(ctx, ids[0], inc...)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	out := stdout
	if code != http.StatusOK {
		out = stderr
	}
	fmt.Fprintln(out, strings.TrimSpace(string(body)))
	switch code {
	case http.StatusOK:
		return 0
	case http.StatusNotFound:
		return 3
	default:
		return 1
	}
}

// parseInterspersed parses args with fs and returns the positional arguments in
// order, accepting the flags before, between and after them (fs.Parse alone stops
// at the first positional argument, so "webhook REQ --raw" would leave --raw
// unparsed). "--" ends the flags: what follows is positional even when it starts
// with "-". A "--" given as a flag's value would be taken for the end of the
// flags: none of the commands using it has a flag whose value could be "--".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
