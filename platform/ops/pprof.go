package ops

import (
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/zap"
)

// ServePprof serves net/http/pprof on addr, on its own listener (never the ops
// or traffic listener), and returns the function that stops it. An empty addr
// serves nothing. Failing to bind only logs: profiling is never a reason to
// refuse to start. Bind it to loopback; it is for profiling only.
func ServePprof(addr string, log *zap.Logger) (stop func()) {
	if addr == "" {
		return func() {}
	}
	if log == nil {
		log = zap.NewNop()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("pprof listener not started", zap.String("addr", addr), zap.Error(err))
		return func() {}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("pprof enabled (profiling only)", zap.String("addr", ln.Addr().String()))
	return func() { _ = srv.Close() }
}
