// Package ops serves the operations endpoints every service exposes on its own
// port: /healthz (the process is alive), /readyz (the service can do its work,
// with per-check detail) and /metrics (Prometheus).
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Check reports whether one dependency is usable. It must return quickly; it runs
// on every /readyz request under a 2 s deadline.
type Check func(ctx context.Context) (detail any, err error)

// Server is the operations HTTP server. Its zero value is not usable; call New.
type Server struct {
	addr     string
	log      *zap.Logger
	registry *prometheus.Registry
	ready    atomic.Bool
	mu       sync.Mutex
	checks   map[string]Check
	srv      *http.Server
	ln       net.Listener
	mux      *http.ServeMux
}

// New returns a server for addr (":9090", "127.0.0.1:0") with a fresh Prometheus
// registry that already holds the Go runtime and process collectors.
func New(addr string, log *zap.Logger) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &Server{addr: addr, log: log, registry: reg, checks: map[string]Check{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.mux = mux
	return s
}

// Handle serves h for pattern (http.ServeMux syntax) beside the ops endpoints,
// e.g. a service's read-only API. Call it before Run.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Registry is where the service registers its metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// SetReady flips the readiness flag; /readyz answers 503 while it is false. A
// service sets it after its dependencies answered and clears it first on shutdown,
// so load balancers stop sending traffic before the drain starts.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// AddCheck adds a named readiness check; a failing check makes /readyz answer 503.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Listen binds the address; Addr then reports the bound address (useful with port 0).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr is the bound address after Listen.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.addr
	}
	return s.ln.Addr().String()
}

// Run serves until ctx is cancelled, then shuts down within 5 s.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type checkResult struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Detail any    `json:"detail,omitempty"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := make(map[string]Check, len(s.checks))
	for n, c := range s.checks {
		checks[n] = c
	}
	s.mu.Unlock()
	sort.Strings(names)
	ok := s.ready.Load()
	results := make(map[string]checkResult, len(names))
	for _, n := range names {
		detail, err := checks[n](ctx)
		res := checkResult{OK: err == nil, Detail: detail}
		if err != nil {
			res.Error = err.Error()
			ok = false
		}
		results[n] = res
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "started": s.ready.Load(), "checks": results})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
