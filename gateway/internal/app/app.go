package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/gateway/internal/auth"
	"github.com/courierhook/pipeline/gateway/internal/httpapi"
	"github.com/courierhook/pipeline/gateway/internal/metrics"
	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/gateway/internal/publish"
	"github.com/courierhook/pipeline/gateway/internal/spool"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/ops"
)

// App is the assembled gateway. Build it with New, serve it with Run.
type App struct {
	cfg     Config
	log     *zap.Logger
	ops     *ops.Server
	echo    *echo.Echo
	ln      net.Listener
	kafka   *broker.Producer
	spool   *spool.Spool
	durable *publish.Durable
}

type options struct {
	transport kafka.RoundTripper
}

// Option adjusts New for tests.
type Option func(*options)

// WithKafkaTransport replaces the Kafka writer's transport (tests inject a
// dialer they can cut to simulate a broker outage).
func WithKafkaTransport(rt kafka.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

// New builds the gateway and binds its listeners (so Addr is known before Run).
func New(cfg Config, log *zap.Logger, opts ...Option) (*App, error) {
	if log == nil {
		log = zap.NewNop()
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	secrets, err := cfg.Secrets()
	if err != nil {
		return nil, err
	}
	providers, err := provider.Build(secrets, auth.NewReplayGuard(0, 0))
	if err != nil {
		return nil, fmt.Errorf("building provider table: %w", err)
	}
	proxies, err := auth.NewTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_TRUSTED_PROXIES: %w", err)
	}
	logProviders(log, cfg, providers)

	a := &App{cfg: cfg, log: log, ops: ops.New(cfg.OpsAddr, log)}
	m := metrics.New(a.ops.Registry())
	var pub httpapi.Publisher
	if cfg.Publish {
		a.kafka = newProducer(cfg, o.transport, m)
		a.spool, err = spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, SegmentBytes: cfg.SpoolSegment}, log.Named("spool"))
		if err != nil {
			return nil, fmt.Errorf("opening spool: %w", err)
		}
		a.durable = publish.NewDurable(a.kafka, a.spool, publish.Options{AckTimeout: cfg.AckTimeout}, m, log.Named("publish"))
		pub = a.durable
		a.registerSpool(a.ops.Registry())
	} else {
		log.Warn("!!! GATEWAY_PUBLISH=false: webhooks are checked, acknowledged and DISCARDED. " +
			"This mode exists only as a benchmark baseline; never run it in production !!!")
		pub = publish.Discard{}
	}
	a.echo = httpapi.New(providers, pub, httpapi.Config{MaxBodyBytes: cfg.MaxBodyBytes, RetryAfter: cfg.RetryAfter,
		BodyReadTimeout: cfg.BodyReadTimeout, TrustedProxies: proxies}, m, log.Named("http"))
	a.echo.Server.ReadHeaderTimeout = 5 * time.Second
	a.echo.Server.ReadTimeout = 30 * time.Second
	a.echo.Server.WriteTimeout = 30 * time.Second
	a.echo.Server.IdleTimeout = 120 * time.Second
	a.echo.Server.MaxHeaderBytes = 64 << 10

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.closeStores()
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	a.ln = LimitListener(ln, cfg.MaxConnections)
	if err := a.ops.Listen(); err != nil {
		_ = a.ln.Close()
		a.closeStores()
		return nil, fmt.Errorf("listening on ops address %s: %w", cfg.OpsAddr, err)
	}
	return a, nil
}

// logProviders logs the configuration (secrets masked) and, per provider,
// what Build decided: the log says what is enforced.
func logProviders(log *zap.Logger, cfg Config, providers map[string]*provider.Provider) {
	configured := map[string]bool{}
	for _, name := range provider.Names() {
		configured[name] = !providers[name].Closed
	}
	// The rest of the configuration is logged at start (lifecycle.Start); the
	// providers' settings come from the environment and the providers file.
	masked := map[string]string{}
	for name, s := range cfg.Providers {
		for k, v := range config.Masked(s) {
			masked[provider.EnvPrefix(name)+k] = v
		}
	}
	log.Info("providers", zap.Any("config", masked), zap.Any("providers_configured", configured))
	for _, name := range provider.Names() {
		p := providers[name]
		switch {
		case p.Open:
			log.Warn("provider accepts UNAUTHENTICATED webhooks (auth: none)", zap.String("provider", name))
		case p.Closed:
			log.Warn("provider has no secret configured; it refuses every request (fail closed)", zap.String("provider", name))
		}
		if p.WeakSignature {
			log.Warn("provider accepts a signature that does not cover the body (GATEWAY_<P>_SIGNATURE); "+
				"a webhookId seen before with a different body is refused, per process, within a bounded window",
				zap.String("provider", name), zap.Int("replay_window_ids", auth.DefaultReplaySize),
				zap.Duration("replay_window", auth.DefaultReplayTTL))
		}
	}
}

func (a *App) registerSpool(reg prometheus.Registerer) {
	sp := a.spool
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_spool_records", Help: "Records in the spool not yet in Kafka."},
			func() float64 { return float64(sp.Stats().Records) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_spool_bytes", Help: "Bytes in the spool not yet in Kafka."},
			func() float64 { return float64(sp.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_spool_oldest_age_seconds", Help: "Age of the oldest spooled record (0 when empty)."},
			func() float64 { return oldestAge(sp.Stats()).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_spooling", Help: "1 while new records go to the spool instead of Kafka."},
			func() float64 {
				if a.durable.Spooling() {
					return 1
				}
				return 0
			}),
	)
	a.ops.AddCheck("spool", func(context.Context) (any, error) {
		st := sp.Stats()
		detail := map[string]any{
			"records": st.Records, "bytes": st.Bytes, "max_bytes": st.MaxBytes,
			"oldest_age_seconds": oldestAge(st).Seconds(), "spooling": a.durable.Spooling(),
			// Records Kafka refused for good, waiting in <spool dir>/quarantine for
			// an operator; they do not block traffic, so readiness ignores them.
			"quarantined": st.Quarantined,
		}
		// Full means new webhooks get 503: take this instance out of rotation.
		if st.Bytes >= st.MaxBytes-a.cfg.MaxBodyBytes {
			return detail, errors.New("spool full")
		}
		return detail, nil
	})
}

func oldestAge(st spool.Stats) time.Duration {
	if st.Records == 0 || st.OldestAt.IsZero() {
		return 0
	}
	return time.Since(st.OldestAt)
}

// Addr is the webhook listener's address.
func (a *App) Addr() string { return a.ln.Addr().String() }

// OpsAddr is the ops listener's address.
func (a *App) OpsAddr() string { return a.ops.Addr() }

// Run serves until ctx ends, then shuts down in order, each step under a fresh
// ShutdownTimeout: readiness off, HTTP drain (in-flight requests finish and are
// durable), spool drain to Kafka while Kafka is reachable (drainSpool),
// forwarder stop, writer flush/close, spool close (what is still spooled stays
// on disk for the next start).
func (a *App) Run(ctx context.Context) error {
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	fwdCtx, stopFwd := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFwd()

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Go(func() {
		if err := a.ops.Run(opsCtx); err != nil {
			errc <- fmt.Errorf("ops server: %w", err)
		}
	})
	defer ops.ServePprof(a.cfg.PprofAddr, a.log)()
	wg.Go(func() {
		if err := a.echo.Server.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("webhook server: %w", err)
		}
	})
	var fwdDone sync.WaitGroup
	if a.durable != nil {
		// Create the raw topic before taking traffic, so the first writes do not
		// fail on a missing topic; a broker that is down is covered by the spool.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := broker.EnsureTopics(tctx, a.cfg.Kafka.Brokers, broker.TopicSpec{Name: a.cfg.Topic, Partitions: a.cfg.TopicPartitions, Config: a.cfg.Kafka.RepairTopicConfig()}); err != nil {
			a.log.Warn("could not ensure the raw topic exists (kafka down?); requests spool until it is back", zap.Error(err))
		}
		cancel()
		fwdDone.Go(func() { _ = a.durable.RunForwarder(fwdCtx) })
	}
	a.ops.SetReady(true)
	a.log.Info("gateway serving", zap.String("addr", a.Addr()), zap.String("ops_addr", a.OpsAddr()), zap.Bool("publish", a.cfg.Publish))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.Error("server failed; shutting down", zap.Error(runErr))
	}

	a.ops.SetReady(false)
	a.log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	if err := a.echo.Shutdown(sctx); err != nil {
		a.log.Error("http drain incomplete", zap.Error(err))
		_ = a.echo.Close()
	}
	cancel()
	a.drainSpool()
	stopFwd()
	fwdDone.Wait()
	a.closeStores()
	stopOps()
	wg.Wait()
	a.log.Info("gateway stopped")
	return runErr
}

// drainStall is how long drainSpool waits without the forwarder making
// progress before it decides Kafka is not reachable. It covers the
// forwarder's longest retry backoff (5 s) plus a produce round trip.
const drainStall = 10 * time.Second

// drainSpool keeps the forwarder sending the spool to Kafka after the HTTP
// drain (no new records arrive any more), until the spool is empty, or
// nothing was forwarded for drainStall (Kafka unreachable), or
// ShutdownTimeout passed. What is left stays on disk, fsynced, for the next
// start on the same volume. In Kubernetes a pod removed by a scale-in thus
// hands its spool to Kafka before it goes, whenever Kafka is up.
func (a *App) drainSpool() {
	if a.spool == nil {
		return
	}
	st := a.spool.Stats()
	if st.Records == 0 {
		return
	}
	a.log.Info("shutting down: draining the spool to kafka", zap.Int64("records", st.Records))
	deadline := time.Now().Add(a.cfg.ShutdownTimeout)
	last, progress := st.Records, time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		n := a.spool.Stats().Records
		switch {
		case n == 0:
			a.log.Info("spool drained")
			return
		case n < last:
			last, progress = n, time.Now()
		case time.Since(progress) > drainStall:
			a.log.Warn("kafka not reachable; spooled records stay on disk for the next start", zap.Int64("records", n))
			return
		}
		if time.Now().After(deadline) {
			a.log.Warn("spool not drained within the shutdown timeout; the rest stays on disk for the next start", zap.Int64("records", n))
			return
		}
	}
}

// newProducer builds the raw topic's producer (broker.Producer: acks=all,
// Murmur2 partitioning, one request in flight per broker, adaptive batching,
// requests at least GATEWAY_KAFKA_LINGER apart).
// rt replaces the transport in tests.
func newProducer(cfg Config, rt kafka.RoundTripper, m *metrics.Metrics) *broker.Producer {
	comp := kafka.Snappy
	switch cfg.Compression {
	case "none":
		comp = 0
	case "lz4":
		comp = kafka.Lz4
	}
	return broker.NewProducer(cfg.Kafka, cfg.Topic, broker.ProducerOptions{
		Transport: rt, Compression: comp, MaxBatchBytes: cfg.MaxBatchBytes, Linger: cfg.KafkaLinger,
		Observe: func(records int, took time.Duration, _ error) {
			m.ProduceRecords.Observe(float64(records))
			m.ProduceLatency.Observe(took.Seconds())
		},
	})
}

// closeStores flushes and closes the Kafka producer, then closes the spool.
func (a *App) closeStores() {
	if a.kafka != nil {
		done := make(chan error, 1)
		go func() { done <- a.kafka.Close() }()
		select {
		case err := <-done:
			if err != nil {
				a.log.Warn("closing kafka producer", zap.Error(err))
			}
		case <-time.After(a.cfg.ShutdownTimeout):
			a.log.Warn("kafka producer did not flush in time")
		}
	}
	if a.spool != nil {
		st := a.spool.Stats()
		if err := a.spool.Close(); err != nil {
			a.log.Error("closing spool", zap.Error(err))
		}
		if st.Records > 0 {
			a.log.Info("spool closed with records left; they are forwarded on the next start", zap.Int64("records", st.Records))
		}
	}
}
