package lookup

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the lookup API (the `normalizer lookup` CLI).
type Client struct {
	// Base is the ops listener's URL, e.g. "http://127.0.0.1:9094".
	Base string
	// Token is sent as a bearer token when set.
	Token string
	HTTP  *http.Client
}

// Shipment fetches GET /v1/shipments/{provider}/{id} and returns the status code
// and the JSON body.
func (c *Client) Shipment(ctx context.Context, provider, id string) (int, []byte, error) {
	return c.get(ctx, "/v1/shipments/"+url.PathEscape(provider)+"/"+url.PathEscape(id))
}

// Webhook fetches GET /v1/webhooks/{request id} with the given includes ("raw",
// "dispatch").
func (c *Client) Webhook(ctx context.Context, requestID string, include ...string) (int, []byte, error) {
	p := "/v1/webhooks/" + url.PathEscape(requestID)
	if len(include) > 0 {
		p += "?include=" + url.QueryEscape(strings.Join(include, ","))
	}
	return c.get(ctx, p)
}

func (c *Client) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Base, "/")+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("calling lookup API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading lookup answer: %w", err)
	}
	return resp.StatusCode, body, nil
}
