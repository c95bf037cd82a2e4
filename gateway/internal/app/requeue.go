package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/publish"
	"github.com/courierhook/pipeline/gateway/internal/spool"
)

// RequeueQuarantine re-sends the records in <GATEWAY_SPOOL_DIR>/quarantine to
// the raw topic, in spool order, and removes each one (the .rec file and its
// .reason sidecar) only after Kafka acknowledged it. It stops at the first
// failure, so a record still refused stays in quarantine. Run it (`gateway
// requeue-quarantine`) after fixing the cause, e.g. raising the topic's
// max.message.bytes; a running gateway may keep serving meanwhile.
func RequeueQuarantine(ctx context.Context, cfg Config, log *zap.Logger) error {
	files := spool.QuarantinedFiles(cfg.SpoolDir)
	if len(files) == 0 {
		log.Info("quarantine is empty", zap.String("spool_dir", cfg.SpoolDir))
		return nil
	}
	p := newProducer(cfg, nil, metrics.New(prometheus.NewRegistry()))
	defer p.Close()
	for i, f := range files {
		rec, err := spool.ReadQuarantined(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		msg := publish.ToMessage(rec)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = p.WriteMessages(wctx, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("re-sending %s (%d of %d re-sent): %w", f, i, len(files), err)
		}
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("removing re-sent %s: %w", f, err)
		}
		_ = os.Remove(strings.TrimSuffix(f, spool.QuarantineSuffix) + spool.QuarantineReasonSuffix)
		log.Info("re-sent quarantined record", zap.String("file", f), zap.Int("bytes", len(rec.Value)))
	}
	log.Info("quarantine re-sent", zap.Int("records", len(files)))
	return nil
}
