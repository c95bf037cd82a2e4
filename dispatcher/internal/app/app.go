package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/courierhook/pipeline/dispatcher/internal/retry"
	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/ops"
)

// lagInterval is how often dispatcher_consumer_lag is refreshed from the brokers.
const lagInterval = 5 * time.Second

// App is the dispatcher: built by New, run by Run.
type App struct {
	cfg     Config
	log     *zap.Logger
	routes  *route.File
	table   *route.Table
	tiers   *retry.Tiers
	ops     *ops.Server
	reg     prometheus.Registerer
	m       *metrics
	writers []*kafka.Writer
	pubW    *kafka.Writer
	sinks   map[string]Sink
	pub     *retry.Publisher
}

// New loads the routes file, builds every sink and the retry publisher. It does
// no network I/O; Run creates topics and joins the groups.
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
	a := &App{cfg: cfg, log: log, routes: routes, table: route.NewTable(routes), tiers: tiers, sinks: map[string]Sink{}}
	var reg prometheus.Registerer = prometheus.NewRegistry()
	if cfg.OpsAddr != "" {
		a.ops = ops.New(cfg.OpsAddr, log)
		reg = a.ops.Registry()
	}
	a.reg = reg
	a.m = newMetrics(reg)
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
	return a, nil
}

func (a *App) buildSink(spec route.SinkSpec) (Sink, error) {
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

// Run consumes until ctx ends, then shuts down in order: readiness off, stop
// fetching, drain in-flight deliveries (finish or hand off) within
// ShutdownTimeout, commit, close readers, stop lanes, close writers.
func (a *App) Run(ctx context.Context) error {
	if err := a.ensureTopics(ctx); err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	opsCtx, stopOps := context.WithCancel(context.Background())
	defer stopOps()
	opsDone := make(chan error, 1)
	if a.ops != nil {
		if err := a.ops.Listen(); err != nil {
			return fmt.Errorf("listening on %s: %w", a.cfg.OpsAddr, err)
		}
		go func() { opsDone <- a.ops.Run(opsCtx) }()
	} else {
		opsDone <- nil
	}

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	eng := newEngine(a.routes.Sinks, a.sinks, a.pub, a.m, a.log)
	eng.start(workCtx)

	groups := map[string]string{a.cfg.Topic: a.cfg.Group} // topic -> consumer group
	consumers := []*consumer{newConsumer("canonical",
		broker.NewReader(a.cfg.Kafka, a.cfg.Group, []string{a.cfg.Topic}, a.log, broker.ReaderOptions{}), -1, a.table, eng, a.cfg, a.m, a.log)}
	for i, t := range a.tiers.Topics() {
		label := retry.Label(a.tiers.Delay(i))
		groups[t] = a.cfg.Group + ".retry." + label
		consumers = append(consumers, newConsumer("retry_"+label,
			broker.NewReader(a.cfg.Kafka, groups[t], []string{t}, a.log, broker.ReaderOptions{}), i, a.table, eng, a.cfg, a.m, a.log))
	}
	// Lag is each group's uncommitted records (committed vs end offsets), the
	// number KEDA scales on; exported until shutdown.
	lagCtx, stopLag := context.WithCancel(context.Background())
	defer stopLag()
	for topic, group := range groups {
		go broker.ExportGroupLag(lagCtx, a.cfg.Kafka, group, []string{topic}, a.m.lag, lagInterval, a.log)
	}
	commitCtx, stopCommits := context.WithCancel(context.Background())
	var commitWG sync.WaitGroup
	for _, c := range consumers {
		commitWG.Go(func() { c.commitLoop(commitCtx) })
	}
	if a.ops != nil {
		a.ops.SetReady(true)
	}
	a.log.Info("dispatcher started", zap.String("topic", a.cfg.Topic), zap.String("group", a.cfg.Group),
		zap.Strings("sinks", a.sinkNames()), zap.Strings("retry_topics", a.tiers.Topics()))

	g, gctx := errgroup.WithContext(ctx)
	for _, c := range consumers {
		g.Go(func() error { return c.fetch(gctx, workCtx) })
	}
	runErr := g.Wait()
	if a.ops != nil {
		a.ops.SetReady(false)
	}
	a.log.Info("fetching stopped; draining in-flight deliveries", zap.Duration("timeout", a.cfg.ShutdownTimeout))

	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	drained := true
	for _, c := range consumers {
		drained = c.drain(dctx) && drained
	}
	cancel()
	if !drained {
		// Abort attempts still running; they hand off (bounded) or stay uncommitted.
		a.log.Warn("drain timed out; aborting in-flight attempts")
		stopWork()
		gctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for _, c := range consumers {
			c.drain(gctx)
		}
		cancel()
	}
	stopCommits()
	commitWG.Wait()
	stopLag()
	// Final commits and reader closes run in parallel: closing a reader waits for
	// its fetch in flight (up to the reader's MaxWait), and there is one reader
	// per retry tier.
	var (
		errs  []error
		errMu sync.Mutex
		wg    sync.WaitGroup
	)
	for _, c := range consumers {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var local []error
			if err := c.commit(cctx); err != nil {
				local = append(local, fmt.Errorf("final commit of %s: %w", c.name, err))
			}
			if err := c.r.Close(); err != nil {
				local = append(local, fmt.Errorf("closing reader %s: %w", c.name, err))
			}
			errMu.Lock()
			errs = append(errs, local...)
			errMu.Unlock()
		})
	}
	wg.Wait()
	stopWork()
	eng.wait()
	errs = append(errs, a.closeWriters())
	stopOps()
	errs = append(errs, <-opsDone)
	a.log.Info("dispatcher stopped", zap.Bool("drained", drained))
	return errors.Join(append([]error{runErr}, errs...)...)
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

func (a *App) sinkNames() []string {
	out := make([]string, 0, len(a.sinks))
	for n := range a.sinks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
