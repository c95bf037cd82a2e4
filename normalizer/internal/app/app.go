package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/normalizer/internal/unknowns"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/ops"
	"github.com/courierhook/pipeline/schemas"
)

// App is the wired normalizer.
type App struct {
	cfg      Config
	log      *zap.Logger
	ops      *ops.Server
	reader   *broker.GroupReader
	writer   *EventWriter
	rdb      *redis.Client
	scanner  *inflight.Scanner
	consumer *consume.Consumer
	lag      *prometheus.GaugeVec
}

// lagInterval is how often normalizer_consumer_lag is read from the brokers
// (2 + partitions requests a round; see broker.ExportGroupLag).
const lagInterval = broker.DefaultLagInterval

// New connects to Kafka and Redis (failing fast when either does not answer),
// creates missing topics when configured to, and wires the consumer.
func New(ctx context.Context, cfg Config, log *zap.Logger) (*App, error) {
	if log == nil {
		log = zap.NewNop()
	}
	log.Info("starting normalizer", zap.Any("config", config.Masked(cfg)))
	if cfg.CreateTopics {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := broker.EnsureTopics(tctx, cfg.Kafka.Brokers,
			broker.TopicSpec{Name: cfg.RawTopic, Partitions: cfg.TopicPartitions, Config: cfg.Kafka.RepairTopicConfig()},
			broker.TopicSpec{Name: cfg.CanonicalTopic, Partitions: cfg.TopicPartitions},
			broker.TopicSpec{Name: cfg.DLQTopic, Partitions: cfg.TopicPartitions, Config: cfg.Kafka.RepairTopicConfig()})
		cancel()
		if err != nil {
			return nil, err
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword, DB: cfg.RedisDB})
	pctx, cancel := context.WithTimeout(ctx, cfg.RedisTimeout)
	err := rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connecting to redis %s: %w", cfg.RedisAddr, err)
	}
	scanner := inflight.NewScanner(cfg.Kafka.Brokers, cfg.CanonicalTopic, schemas.HeaderEventID, log)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = scanner.RefreshUntil(sctx)
	cancel()
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("reading canonical topic offsets: %w", err)
	}

	// One fetch request per broker for all the raw partitions this member owns
	// (kafka.Reader sends one per partition).
	reader, err := broker.NewGroupReader(cfg.Kafka, cfg.Group, []string{cfg.RawTopic}, log,
		broker.GroupReaderOptions{MaxWait: cfg.FetchMaxWait, Linger: cfg.FetchLinger})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	srv := ops.New(cfg.OpsAddr, log)
	writer := NewEventWriter(cfg.Kafka, cfg.CanonicalTopic, cfg.WriteTimeout, log)
	metrics := consume.NewMetrics(srv.Registry())
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "normalizer_consumer_lag",
		Help: "Records of the raw topic the normalizer's consumer group has not committed yet (end minus committed offsets).",
	}, []string{"topic"})
	srv.Registry().MustRegister(lag)

	owner := uuid.NewString()
	c, err := consume.New(consume.Config{
		CanonicalTopic: cfg.CanonicalTopic, DLQTopic: cfg.DLQTopic,
		BatchSize: cfg.BatchSize, Linger: cfg.BatchLinger,
		RetryMin: cfg.RetryMin, RetryMax: cfg.RetryMax, RedisTimeout: cfg.RedisTimeout,
		Lease: cfg.Lease, DrainTimeout: cfg.ShutdownTimeout, CommitInterval: cfg.CommitInterval, Service: "normalizer",
		RedeliveryWindow: cfg.RedeliveryWindow,
	}, consume.Deps{
		Fetcher:  reader,
		Redis:    rdb,
		Producer: writer,
		Dedup:    dedup.NewRedis(rdb, cfg.RedisPrefix, cfg.DedupTTL),
		States:   state.NewRedis(rdb, cfg.RedisPrefix, cfg.StateTTL),
		Claims:   inflight.NewClaims(rdb, cfg.RedisPrefix, owner, cfg.Lease, cfg.DedupTTL),
		Recovery: scanner,
		Metrics:  metrics,
		Log:      log,
		Index:    lookup.NewIndex(cfg.RedisPrefix, cfg.StateTTL, cfg.Repair.LookupRecent),
		Unknowns: unknowns.New(srv.Registry(), cfg.Repair.UnknownTopN, log),
	})
	if err != nil {
		_ = reader.Close()
		_ = writer.Close()
		_ = rdb.Close()
		return nil, err
	}
	srv.AddCheck("kafka", func(ctx context.Context) (any, error) {
		cl := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Timeout: 2 * time.Second}
		_, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.RawTopic}})
		return nil, err
	})
	srv.AddCheck("redis", func(ctx context.Context) (any, error) { return nil, rdb.Ping(ctx).Err() })
	if err := mountLookup(srv, cfg, rdb, log); err != nil {
		_ = reader.Close()
		_ = writer.Close()
		_ = rdb.Close()
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		_ = reader.Close()
		_ = writer.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.OpsAddr, err)
	}
	return &App{cfg: cfg, log: log, ops: srv, reader: reader, writer: writer, rdb: rdb, scanner: scanner, consumer: c, lag: lag}, nil
}

// OpsAddr is the bound address of the ops server.
func (a *App) OpsAddr() string { return a.ops.Addr() }

// Run consumes until ctx ends, then shuts down in order. It returns nil after a
// clean drain.
func (a *App) Run(ctx context.Context) error {
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(bg)
	g.Go(func() error { return a.ops.Run(opsCtx) })
	defer ops.ServePprof(a.cfg.PprofAddr, a.log)()
	g.Go(func() error { a.scanner.Run(gctx, a.cfg.OffsetsRefresh); return nil })
	g.Go(func() error {
		broker.ExportGroupLag(gctx, a.cfg.Kafka, a.cfg.Group, []string{a.cfg.RawTopic}, a.lag, lagInterval, a.log)
		return nil
	})

	a.ops.SetReady(true)
	a.log.Info("normalizer running", zap.String("ops_addr", a.ops.Addr()), zap.String("group", a.cfg.Group))
	// The consumer drains within ShutdownTimeout of ctx ending (see consume.Run).
	runErr := a.consumer.Run(ctx)
	a.ops.SetReady(false)

	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	if err := a.reader.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing reader: %w", err))
	}
	if err := a.writer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing writer: %w", err))
	}
	stopBG()
	if err := a.rdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing redis: %w", err))
	}
	stopOps()
	if err := g.Wait(); err != nil {
		errs = append(errs, err)
	}
	a.log.Info("normalizer stopped")
	return errors.Join(errs...)
}
