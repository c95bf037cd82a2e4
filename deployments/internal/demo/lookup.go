package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// lookupTarget is the demo shipment and webhook looked up at the end of a run.
type lookupTarget struct {
	provider, shipment, request string
}

// printLookups prints the normalizer lookup API's answers for t's shipment and
// webhook (`normalizer lookup shipment|webhook` shows the same). A failure is
// printed, not returned: the events were already shown.
func printLookups(ctx context.Context, opts Options, t lookupTarget, out io.Writer) {
	if opts.LookupURL == "" || t.request == "" {
		return
	}
	for _, q := range []struct{ label, path string }{
		{"shipment " + t.provider + "/" + t.shipment, "/v1/shipments/" + url.PathEscape(t.provider) + "/" + url.PathEscape(t.shipment)},
		{"webhook " + t.request, "/v1/webhooks/" + url.PathEscape(t.request)},
	} {
		fmt.Fprintf(out, "lookup %s (GET %s%s):\n", q.label, opts.LookupURL, q.path)
		code, body, err := getLookup(ctx, opts, q.path)
		switch {
		case err != nil:
			fmt.Fprintf(out, "  lookup failed: %v (is the normalizer's lookup API on %s?)\n", err, opts.LookupURL)
		case code != http.StatusOK:
			fmt.Fprintf(out, "  HTTP %d: %s\n", code, bytes.TrimSpace(body))
		default:
			var pretty bytes.Buffer
			if json.Indent(&pretty, body, "  ", "  ") != nil {
				pretty.Write(body)
			}
			fmt.Fprintf(out, "  %s\n", bytes.TrimSpace(pretty.Bytes()))
		}
	}
}

// getLookup GETs path, asking again for up to 3 s while it answers 404: the
// index is written just after the event is produced.
func getLookup(ctx context.Context, opts Options, path string) (int, []byte, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(3 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.LookupURL+path, nil)
		if err != nil {
			return 0, nil, err
		}
		if opts.LookupToken != "" {
			req.Header.Set("Authorization", "Bearer "+opts.LookupToken)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			return resp.StatusCode, body, err
		}
		select {
		case <-ctx.Done():
			return resp.StatusCode, body, nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
