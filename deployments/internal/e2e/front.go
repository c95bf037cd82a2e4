package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// Front is one address for several gateway instances, as a Kubernetes Service
// or a load balancer is: an HTTP reverse proxy that sends each request to the
// next backend in turn. It never retries a request on another backend: when
// its backend fails (connection refused, reset mid-request) the client gets 502,
// i.e. no acknowledgement, and the provider would send it again. Whatever a
// backend acknowledged reaches the client unchanged (status, X-Request-Id, body).
type Front struct {
	backends []*url.URL
	next     atomic.Uint64
	failed   atomic.Int64
	srv      *http.Server
	ln       net.Listener
}

// NewFront listens on a free loopback port and proxies to the backends'
// base URLs ("http://127.0.0.1:port").
func NewFront(backends ...string) (*Front, error) {
	if len(backends) == 0 {
		return nil, errors.New("front: no backend")
	}
	f := &Front{}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("front backend %q: %w", b, err)
		}
		f.backends = append(f.backends, u)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("front: %w", err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(f.backends[(f.next.Add(1)-1)%uint64(len(f.backends))])
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{
			MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			f.failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	f.ln = ln
	f.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// URL is the base URL to send webhooks to.
func (f *Front) URL() string { return "http://" + f.ln.Addr().String() }

// Failed counts requests answered 502 because their backend failed.
func (f *Front) Failed() int64 { return f.failed.Load() }

// Close stops the listener, waiting up to 2 s for requests in flight.
func (f *Front) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}
