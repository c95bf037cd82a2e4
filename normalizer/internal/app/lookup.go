package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/ops"
)

// RepairConfig configures the lookup API, the unknown-status values and what the
// repair commands read (README.md "Repair and lookup").
type RepairConfig struct {
	// Lookup serves the lookup API on the ops listener: "auto" when the listener
	// is loopback-only or LookupToken is set (else it is off, with a warning);
	// "on" always, refusing to start on a non-loopback listener without a token;
	// "off" never.
	Lookup      string `env:"NORMALIZER_LOOKUP" envDefault:"auto"`
	LookupToken string `env:"NORMALIZER_LOOKUP_TOKEN" mask:"true"`
	// LookupRecent is how many recent events the index keeps per shipment.
	LookupRecent int `env:"NORMALIZER_LOOKUP_RECENT" envDefault:"50"`
	// DispatchTopics and DispatchDLQTopic are the dispatcher's retry tier topics
	// and dead-letter topic, read (bounded by DispatchScanWindow after the event
	// and DispatchScanMax records) for ?include=dispatch.
	DispatchTopics     []string      `env:"NORMALIZER_DISPATCH_RETRY_TOPICS" envSeparator:"," envDefault:"shipments.dispatch.retry.10s,shipments.dispatch.retry.1m,shipments.dispatch.retry.10m,shipments.dispatch.retry.1h"`
	DispatchDLQTopic   string        `env:"NORMALIZER_DISPATCH_DLQ_TOPIC" envDefault:"shipments.dispatch.dlq.v1"`
	DispatchScanWindow time.Duration `env:"NORMALIZER_DISPATCH_SCAN_WINDOW" envDefault:"3h"`
	DispatchScanMax    int64         `env:"NORMALIZER_DISPATCH_SCAN_MAX" envDefault:"200000"`
	// UnknownTopN is how many distinct unknown status values per provider get
	// their own label on normalizer_unknown_status_values_total.
	UnknownTopN int `env:"NORMALIZER_UNKNOWN_TOP_N" envDefault:"20"`
}

func (c *RepairConfig) validate() error {
	return errors.Join(
		config.Check(c.Lookup == "auto" || c.Lookup == "on" || c.Lookup == "off", "NORMALIZER_LOOKUP", "auto, on or off"),
		config.Check(c.LookupRecent >= 1 && c.LookupRecent <= 1000, "NORMALIZER_LOOKUP_RECENT", "1..1000"),
		config.Check(c.DispatchScanWindow > 0, "NORMALIZER_DISPATCH_SCAN_WINDOW", "> 0"),
		config.Check(c.DispatchScanMax > 0, "NORMALIZER_DISPATCH_SCAN_MAX", "> 0"),
		config.Check(c.UnknownTopN >= 1 && c.UnknownTopN <= 200, "NORMALIZER_UNKNOWN_TOP_N", "1..200"),
	)
}

// mountLookup adds the lookup API to the ops listener as cfg.Repair.Lookup says,
// and the repair commands' progress to its metrics.
func mountLookup(srv *ops.Server, cfg Config, rdb redis.UniversalClient, log *zap.Logger) error {
	rc := cfg.Repair
	srv.Registry().MustRegister(repair.NewProgressCollector(rdb, cfg.RedisPrefix))
	exposed := lookup.CheckExposure(cfg.OpsAddr, rc.LookupToken)
	switch {
	case rc.Lookup == "off":
		return nil
	case exposed != nil && rc.Lookup == "on":
		return fmt.Errorf("NORMALIZER_LOOKUP=on with NORMALIZER_OPS_ADDR=%s: %w (set NORMALIZER_LOOKUP_TOKEN)", cfg.OpsAddr, exposed)
	case exposed != nil:
		log.Warn("lookup API not served: the ops listener is not loopback-only and NORMALIZER_LOOKUP_TOKEN is unset",
			zap.String("ops_addr", cfg.OpsAddr))
		return nil
	}
	h := lookup.NewHandler(lookup.HandlerConfig{Token: rc.LookupToken, Recent: min(rc.LookupRecent, 50)},
		lookup.NewStore(rdb, cfg.RedisPrefix),
		lookup.States{Store: state.NewRedis(rdb, cfg.RedisPrefix, cfg.StateTTL)},
		lookup.NewRawTopic(cfg.Kafka.Brokers),
		lookup.NewDispatchScan(cfg.Kafka.Brokers, rc.DispatchTopics, rc.DispatchDLQTopic, rc.DispatchScanWindow, rc.DispatchScanMax),
		log)
	for _, p := range lookup.Patterns {
		srv.Handle(p, h)
	}
	return nil
}
