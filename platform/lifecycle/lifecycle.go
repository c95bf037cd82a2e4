// Package lifecycle ties a service's run to process signals: the first SIGINT or
// SIGTERM cancels the root context so the service drains; a second one exits at once.
package lifecycle

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
)

// SignalContext returns a context cancelled by the first SIGINT/SIGTERM. A second
// signal exits the process with status 130, for an operator who does not want to
// wait for the drain.
func SignalContext(parent context.Context, log *zap.Logger) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			log.Info("signal received, draining", zap.String("signal", s.String()))
			cancel()
		case <-ctx.Done():
			signal.Stop(sigs)
			return
		}
		s := <-sigs
		log.Warn("second signal, exiting without drain", zap.String("signal", s.String()))
		_ = log.Sync()
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}
