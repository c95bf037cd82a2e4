package devrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/courierhook/pipeline/deployments/internal/receiver"
	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/deployments/internal/workspace"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// Services are the binaries devrun starts, in start order. They stop in the same
// order: the gateway stops taking webhooks first, then the consumers drain.
var Services = []string{"gateway", "normalizer", "dispatcher"}

// ErrChildExited means a service exited while devrun was running it.
var ErrChildExited = errors.New("service exited")

// prefixWidth aligns the "name | " prefixes.
const prefixWidth = 10

// Launcher runs the local pipeline. Set the exported fields, then call Run once.
type Launcher struct {
	// Cfg is the configuration (see Config).
	Cfg Config
	// Root is the repository root; relative paths in Cfg are resolved against it.
	Root string
	// Out receives the interleaved, prefixed output of devrun and the services.
	Out io.Writer
	// Kill, when closed while the services drain, SIGKILLs them at once (a
	// second Ctrl-C). May be nil.
	Kill <-chan struct{}
	// OnReady, if set, is called once every service answers /readyz.
	OnReady func(State)

	mu       sync.Mutex
	children []*child
}

// PIDs returns the process ids of the children started so far (each is also its
// process group id). Tests use it to prove nothing outlives Run.
func (l *Launcher) PIDs() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int, 0, len(l.children))
	for _, c := range l.children {
		out = append(out, c.PID())
	}
	return out
}

// Run starts the infrastructure and the services, waits for readiness, and runs
// until ctx is cancelled (then it stops everything and returns nil) or a service
// exits on its own (then it stops the rest and returns an error wrapping
// ErrChildExited).
func (l *Launcher) Run(ctx context.Context) (err error) {
	cfg := l.Cfg
	out := &lockedWriter{w: l.Out}
	self := newPrefixWriter("devrun", prefixWidth, out)
	log, err := newLogger(cfg.LogLevel, self)
	if err != nil {
		return err
	}
	defer func() { _ = self.Sync() }()

	st := State{PID: os.Getpid(), CanonicalTopic: schemas.TopicCanonical}
	st.KafkaBrokers = cfg.KafkaBrokers
	if len(st.KafkaBrokers) == 0 {
		k, err := startKafka(cfg.KafkaPort, log)
		if err != nil {
			return err
		}
		defer func() { k.Close(); log.Info("embedded kafka stopped") }()
		st.KafkaBrokers, st.KafkaEmbedded = []string{k.addr}, true
		log.Info("embedded kafka (kfake, in memory) listening", zap.String("addr", k.addr))
	}
	st.RedisAddr = cfg.RedisAddr
	if st.RedisAddr == "" {
		r, err := startRedis(cfg.RedisPort, log)
		if err != nil {
			return err
		}
		defer func() { r.Close(); log.Info("embedded redis stopped") }()
		st.RedisAddr, st.RedisEmbedded = r.Addr(), true
		log.Info("embedded redis (miniredis, in memory) listening", zap.String("addr", st.RedisAddr))
	}
	st.GatewayURL = "http://" + cfg.GatewayAddr
	st.GatewayOpsURL = "http://" + cfg.GatewayOpsAddr

	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = broker.EnsureTopics(tctx, st.KafkaBrokers, Topics(cfg.Partitions, broker.Config{Retention: cfg.RepairRetention})...)
	cancel()
	if err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	log.Info("topics ready", zap.Strings("brokers", st.KafkaBrokers))

	sink, err := receiver.New(SinkSecret, receiver.Options{Port: cfg.SinkPort, Log: newSinkLogger(out, cfg.LogLevel)})
	if err != nil {
		return err
	}
	defer sink.Close()
	st.SinkURL = sink.URL()

	env, err := l.childEnv(st)
	if err != nil {
		return err
	}
	exited := make(chan *child, len(Services))
	defer func() { l.stopAll(log) }()
	for _, name := range Services {
		bin := filepath.Join(workspace.Abs(l.Root, cfg.BinDir), name)
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("service binary %s missing (run `make build` first): %w", bin, err)
		}
		c, err := startChild(name, bin, l.Root, env, newPrefixWriter(name, prefixWidth, out))
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.children = append(l.children, c)
		l.mu.Unlock()
		go func() { <-c.done; exited <- c }()
		log.Info("started", zap.String("service", name), zap.Int("pid", c.PID()))
	}

	start := time.Now()
	readyErr := make(chan error, 1)
	rctx, rcancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
	defer rcancel()
	go func() { readyErr <- l.waitAllReady(rctx) }()

	statePath := workspace.Abs(l.Root, cfg.StateFile)
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
			return nil
		case c := <-exited:
			return fmt.Errorf("%s: %w: %v", c.name, ErrChildExited, c.err)
		case err := <-readyErr:
			if err != nil {
				if ctx.Err() != nil {
					continue // cancelled while waiting: the ctx case reports it
				}
				return err
			}
			if err := WriteState(statePath, st); err != nil {
				return err
			}
			defer os.Remove(statePath)
			l.banner(out, st, time.Since(start))
			if l.OnReady != nil {
				l.OnReady(st)
			}
		}
	}
}

// Topics are the topics devrun creates (EnsureTopics leaves existing ones alone),
// the raw topic and the dead-letter topics with the services' repair retention
// (KAFKA_REPAIR_RETENTION, kafka.RepairTopicConfig), as the services would
// create them.
func Topics(partitions int, kafka broker.Config) []broker.TopicSpec {
	repair := kafka.RepairTopicConfig()
	return []broker.TopicSpec{
		{Name: schemas.TopicRaw, Partitions: partitions, Config: repair},
		{Name: schemas.TopicCanonical, Partitions: partitions},
		{Name: schemas.TopicRawDLQ, Partitions: 3, Config: repair},
		{Name: schemas.TopicDispatchDLQ, Partitions: 3, Config: repair},
	}
}

// childEnv is the services' environment: devrun's own environment (so any
// GATEWAY_*, NORMALIZER_*, DISPATCHER_* override reaches them), then the values
// devrun decided. exec.Cmd keeps the last value of a duplicated key.
func (l *Launcher) childEnv(st State) ([]string, error) {
	cfg := l.Cfg
	spool := filepath.Join(workspace.Abs(l.Root, cfg.DataDir), "gateway-spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		return nil, fmt.Errorf("creating spool directory: %w", err)
	}
	env := append(os.Environ(),
		"KAFKA_BROKERS="+strings.Join(st.KafkaBrokers, ","),
		"REDIS_ADDR="+st.RedisAddr,
		"LOG_LEVEL="+cfg.LogLevel,
		"LOG_FORMAT="+cfg.LogFormat,
		"GATEWAY_ADDR="+cfg.GatewayAddr,
		"GATEWAY_OPS_ADDR="+cfg.GatewayOpsAddr,
		"GATEWAY_SPOOL_DIR="+spool,
		"NORMALIZER_OPS_ADDR="+cfg.NormalizerOpsAddr,
		"DISPATCHER_OPS_ADDR="+cfg.DispatcherOpsAddr,
	)
	// The provider secrets: the demo's, or the GATEWAY_<NAME>_* value set in
	// devrun's environment (cmd/demo signs with the same).
	creds, err := seed.FromEnv()
	if err != nil {
		return nil, err
	}
	env = append(env, creds.Env()...)
	routes := workspace.Abs(l.Root, cfg.RoutesFile)
	if _, err := os.Stat(routes); err != nil {
		return nil, fmt.Errorf("dispatcher routes file: %w", err)
	}
	env = append(env,
		"DISPATCHER_ROUTES_FILE="+routes,
		"DEVRUN_SINK_URL="+st.SinkURL,
		"DEVRUN_SINK_SECRET="+SinkSecret,
	)
	return env, nil
}

// waitAllReady waits until every service's /readyz answers 200.
func (l *Launcher) waitAllReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(ctx context.Context, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, addr := range []string{l.Cfg.GatewayOpsAddr, l.Cfg.NormalizerOpsAddr, l.Cfg.DispatcherOpsAddr} {
		if err := waitReady(ctx, get, "http://"+addr+"/readyz"); err != nil {
			return err
		}
	}
	return nil
}

// stopAll stops the children in start order, each under StopTimeout.
func (l *Launcher) stopAll(log *zap.Logger) {
	l.mu.Lock()
	children := append([]*child(nil), l.children...)
	l.mu.Unlock()
	for _, c := range children {
		start := time.Now()
		c.stop(l.Cfg.StopTimeout, l.Kill, log)
		log.Info("stopped", zap.String("service", c.name), zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	}
}

func (l *Launcher) banner(out io.Writer, st State, took time.Duration) {
	kafka, redis := "external", "external"
	if st.KafkaEmbedded {
		kafka = "embedded kfake, in memory"
	}
	if st.RedisEmbedded {
		redis = "embedded miniredis, in memory"
	}
	p := fmt.Sprintf("%-*s | ", prefixWidth, "devrun")
	lines := []string{
		fmt.Sprintf("ready in %s", took.Round(100*time.Millisecond)),
		fmt.Sprintf("  webhooks  %s/webhooks/{kiriminaja,dash,komerce,sendstack}", st.GatewayURL),
		fmt.Sprintf("  ops       %s/readyz  %s/metrics", st.GatewayOpsURL, st.GatewayOpsURL),
		fmt.Sprintf("  kafka     %s (%s)", strings.Join(st.KafkaBrokers, ","), kafka),
		fmt.Sprintf("  redis     %s (%s)", st.RedisAddr, redis),
		fmt.Sprintf("  sink      %s (signed deliveries are logged as \"sink | ...\")", st.SinkURL),
		"  try:      make demo        (in another terminal)",
		"  stop:     Ctrl-C",
	}
	var b strings.Builder
	for _, line := range lines {
		b.WriteString(p + line + "\n")
	}
	_, _ = io.WriteString(out, b.String())
}

// newSinkLogger logs the webhook receiver's lines under the "sink" prefix.
func newSinkLogger(out *lockedWriter, level string) *zap.Logger {
	log, err := newLogger(level, newPrefixWriter("sink", prefixWidth, out))
	if err != nil {
		return zap.NewNop()
	}
	return log
}

// newLogger writes devrun's own lines through w with zap's console encoder.
func newLogger(level string, w zapcore.WriteSyncer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(strings.ToLower(level))
	if err != nil {
		return nil, fmt.Errorf("parsing LOG_LEVEL: %w", err)
	}
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeLevel = zapcore.CapitalLevelEncoder
	ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(ec), w, lvl)), nil
}
