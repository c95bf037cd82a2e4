package provider

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Signer makes req, whose body is body, authentic the way one provider does,
// with the first entry of each secret in s (Spec.Sign).
type Signer func(req *http.Request, body []byte, s Secrets)

// NewRequest builds the webhook provider name would send to the gateway at
// base ("http://127.0.0.1:8080") carrying body: the row's first method, to
// /webhooks/<name>, signed by the row's Sign, plus s's first URL token as a
// path segment when s has one (any provider may require one; for Komerce it
// is the only credential). It is the client side of the table, for the load
// tool and tests, so a new row needs no client code elsewhere. An unknown
// name is ErrUnknownProvider.
func NewRequest(ctx context.Context, base, name string, body []byte, s Secrets) (*http.Request, error) {
	spec, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("%q: %w", name, ErrUnknownProvider)
	}
	req, err := http.NewRequestWithContext(ctx, spec.Methods[0], strings.TrimRight(base, "/")+"/webhooks/"+name, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building %s request: %w", name, err)
	}
	if len(s.Token) > 0 {
		req.URL = req.URL.JoinPath(s.Token[0])
	}
	if spec.JSON {
		req.Header.Set("Content-Type", "application/json")
	}
	if spec.Sign != nil {
		spec.Sign(req, body, s)
	}
	return req, nil
}

func lookup(name string) (Spec, bool) {
	for _, s := range Table {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// first is the entry a client signs with: the first (the newest, by the
// rotation convention "new,old").
func first(l SecretList) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}
