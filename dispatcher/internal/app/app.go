package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/dispatcher/internal/deliver"
	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/ops"
)

// App is the dispatcher: built by New, run by Run.
type App struct {
	cfg     Config
	log     *zap.Logger
	routes  *route.File
	tiers   *retry.Tiers
	ops     *ops.Server
	m       *deliver.Metrics
	writers []*kafka.Writer
	pubW    *kafka.Writer
	sinks   map[string]deliver.Sink
	pub     *retry.Publisher
	svc     *deliver.Service
}

// New loads the routes file, builds every sink, the retry publisher and the
// delivery runtime (internal/deliver). It does no network I/O; Run creates
// topics and joins the groups.
func New(cfg Config, log *zap.Logger) (*App, error) {
	if log == nil {
		log = zap.NewNop()
	}
	routes, err := route.Load(cfg.RoutesFile, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	tiers, err := retry.NewTiers(cfg.RetryTopicPrefix, cfg.RetryDelays, cfg.RetryJitter)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, routes: routes, tiers: tiers, sinks: map[string]deliver.Sink{}}
	var reg prometheus.Registerer = prometheus.NewRegistry()
	if cfg.OpsAddr != "" {
		a.ops = ops.New(cfg.OpsAddr, log)
		reg = a.ops.Registry()
	}
	a.m = deliver.NewMetrics(reg)
	a.pubW = broker.NewWriter(cfg.Kafka, "", log, broker.WriterOptions{})
	// HealingWriter: after a broker restart, drop pooled connections on the first
	// failed write instead of failing once per stale connection.
	a.pub = retry.NewPublisher(broker.HealingWriter{Writer: a.pubW}, tiers, cfg.DLQTopic)
	for name, spec := range routes.Sinks {
		s, err := a.buildSink(spec)
		if err != nil {
			a.closeWriters()
			return nil, fmt.Errorf("building sink %q: %w", name, err)
		}
		a.sinks[name] = s
	}
	if a.svc, err = deliver.New(cfg.delivery(), routes, a.sinks, a.pub, a.m, log); err != nil {
		a.closeWriters()
		return nil, err
	}
	return a, nil
}

func (a *App) buildSink(spec route.SinkSpec) (deliver.Sink, error) {
	switch spec.Kind {
	case route.KindKafka:
		w := broker.NewWriter(a.cfg.Kafka, "", a.log, broker.WriterOptions{WriteTimeout: spec.Timeout, MaxAttempts: 1})
		a.writers = append(a.writers, w)
		return sink.NewKafka(broker.HealingWriter{Writer: w}, spec.Topic, spec.RedactPaths())
	case route.KindHTTP:
		return sink.NewHTTP(sink.HTTPConfig{URL: spec.URL, Secrets: spec.Secrets, Headers: spec.Headers, Redact: spec.RedactPaths()})
	case route.KindChat:
		return sink.NewChat(sink.ChatConfig{URL: spec.URL, Template: spec.Template, Headers: spec.Headers, Redact: spec.RedactPaths()})
	}
	return nil, fmt.Errorf("unknown sink kind %q", spec.Kind)
}

// ensureTopics creates the retry, DLQ and Kafka-sink topics that are missing.
func (a *App) ensureTopics(ctx context.Context) error {
	if !a.cfg.CreateTopics {
		return nil
	}
	var specs []broker.TopicSpec
	for _, t := range a.tiers.Topics() {
		specs = append(specs, broker.TopicSpec{Name: t, Partitions: a.cfg.TopicPartitions})
	}
	// The DLQ keeps the repair retention (KAFKA_REPAIR_RETENTION), like the raw topics.
	specs = append(specs, broker.TopicSpec{Name: a.cfg.DLQTopic, Partitions: a.cfg.TopicPartitions, Config: a.cfg.Kafka.RepairTopicConfig()})
	for _, s := range a.routes.Sinks {
		if s.Kind == route.KindKafka {
			specs = append(specs, broker.TopicSpec{Name: s.Topic, Partitions: a.cfg.TopicPartitions})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return broker.EnsureTopics(cctx, a.cfg.Kafka.Brokers, specs...)
}

// Run creates the topics, serves ops, and runs the delivery runtime until ctx
// ends; deliver.Service.Run owns the shutdown order (readiness off, stop
// fetching, drain within ShutdownTimeout, commit, close readers, stop lanes).
// Run then closes every writer and stops the ops server.
func (a *App) Run(ctx context.Context) error {
	if err := a.ensureTopics(ctx); err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	opsCtx, stopOps := context.WithCancel(context.Background())
	defer stopOps()
	opsDone := make(chan error, 1)
	ready := func(bool) {}
	if a.ops != nil {
		if err := a.ops.Listen(); err != nil {
			return fmt.Errorf("listening on %s: %w", a.cfg.OpsAddr, err)
		}
		go func() { opsDone <- a.ops.Run(opsCtx) }()
		ready = a.ops.SetReady
	} else {
		opsDone <- nil
	}
	stopPprof := ops.ServePprof(a.cfg.PprofAddr, a.log)
	runErr := a.svc.Run(ctx, ready)
	stopPprof()
	closeErr := a.closeWriters()
	stopOps()
	opsErr := <-opsDone
	a.log.Info("dispatcher stopped")
	return errors.Join(runErr, closeErr, opsErr)
}

func (a *App) closeWriters() error {
	var errs []error
	for _, w := range a.writers {
		errs = append(errs, w.Close())
	}
	a.writers = nil
	if a.pubW != nil {
		errs = append(errs, a.pubW.Close())
		a.pubW = nil
	}
	return errors.Join(errs...)
}
