package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/receiver"
	"github.com/courierhook/pipeline/deployments/internal/seed"
)

// Fault names, in the order RunChaos injects them by default.
const (
	FaultBroker         = "broker-stopped"
	FaultNormalizerKill = "normalizer-sigkill"
	FaultDispatcherKill = "dispatcher-sigkill"
	FaultRedis          = "redis-stopped"
	FaultSink           = "sink-5xx"
	FaultRolling        = "rolling-sigterm-restart"
)

// AllFaults is the default fault sequence.
var AllFaults = []string{FaultBroker, FaultNormalizerKill, FaultDispatcherKill, FaultRedis, FaultSink, FaultRolling}

// ChaosConfig configures RunChaos.
type ChaosConfig struct {
	// Root is the repository root (fixtures, scripts); BinDir the built services;
	// WorkDir receives logs and the spool.
	Root, BinDir, WorkDir string
	// Brokers and RedisAddr are the Kafka and Redis to use. Infra, when set, is
	// where they come from and enables the broker and Redis faults.
	Brokers   []string
	RedisAddr string
	// RedisPrefix is the normalizer's key prefix (default per run).
	RedisPrefix string
	Infra       *Infra
	// Faults to inject, in order (default AllFaults).
	Faults []string
	// Rate is the steady load in webhooks/s.
	Rate int
	// BrokerOutage, RedisOutage and SinkWindow are the fault durations; Pre and
	// Post the load before and after each fault.
	BrokerOutage, RedisOutage, SinkWindow, Pre, Post time.Duration
	// RetryDelays is the dispatcher's retry tiers; their sum (less 20% jitter)
	// must exceed SinkWindow or deliveries end in the dispatch DLQ.
	RetryDelays string
	// Out receives progress and the report.
	Out io.Writer
}

// Defaults fills the durations (quick: CHAOS_QUICK=1), the rate and the faults.
func (c *ChaosConfig) Defaults(quick bool) {
	if quick {
		c.BrokerOutage, c.RedisOutage, c.SinkWindow, c.Pre, c.Post = 10*time.Second, 5*time.Second, 15*time.Second, 3*time.Second, 3*time.Second
		c.RetryDelays = "2s,5s,10s,20s"
	} else {
		c.BrokerOutage, c.RedisOutage, c.SinkWindow, c.Pre, c.Post = 30*time.Second, 10*time.Second, 60*time.Second, 5*time.Second, 5*time.Second
		c.RetryDelays = "5s,15s,30s,60s"
	}
	if c.Rate == 0 {
		c.Rate = 200
	}
	if len(c.Faults) == 0 {
		c.Faults = AllFaults
	}
}

// ErrLoss means an audit found a lost webhook or event.
var ErrLoss = errors.New("chaos audit found losses")

// RunChaos starts the pipeline, then for each fault runs the steady load,
// injects the fault, stops the load, waits for the pipeline to drain and audits.
// It prints one table and returns the audits; the error wraps ErrLoss when any
// audit lost something.
func RunChaos(ctx context.Context, cfg ChaosConfig) ([]Audit, error) {
	out := cfg.Out
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[chaos %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	run := strconv.FormatInt(time.Now().UnixMilli()%1e9, 10)
	templates, err := LoadTemplates(ctx, filepath.Join(cfg.BinDir, "normalizer"))
	if err != nil {
		return nil, err
	}
	sink, err := NewSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	p, err := NewPipeline(ctx, PipelineConfig{
		BinDir: cfg.BinDir, WorkDir: cfg.WorkDir, Brokers: cfg.Brokers, RedisAddr: cfg.RedisAddr, RunID: run,
		SinkURL: sink.URL(), RetryDelays: cfg.RetryDelays, Publish: true, Creds: seed.Demo(), RedisPrefix: cfg.RedisPrefix,
	})
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	logf("pipeline up: run %s, topics %s/%s, logs in %s", run, p.Topics.Raw, p.Topics.Canonical, cfg.WorkDir)
	octx, ocancel := context.WithCancel(ctx)
	obs := NewObserver()
	obs.Tail(octx, cfg.Brokers, p.Topics.Raw, p.Cfg.Partitions, KindRaw)
	obs.Tail(octx, cfg.Brokers, p.Topics.Canonical, p.Cfg.Partitions, KindCanonical)
	obs.Tail(octx, cfg.Brokers, p.Topics.RawDLQ, 1, KindCount)
	obs.Tail(octx, cfg.Brokers, p.Topics.DispatchDLQ, 1, KindCount)
	defer func() { ocancel(); obs.Wait() }()

	work := NewWorkload(templates, run)
	drv := NewDriver(p.GatewayURL, seed.Demo(), work, run, 256)
	stall := maxDelay(cfg.RetryDelays)*5/4 + 15*time.Second
	var audits []Audit
	for _, name := range cfg.Faults {
		inject, label, err := faultFunc(name, cfg, p, sink)
		if err != nil {
			return audits, err
		}
		st := drv.Begin()
		lctx, lcancel := context.WithCancel(ctx)
		loadDone := make(chan struct{})
		go func() { drv.RunRate(lctx, cfg.Rate, 24*time.Hour, 2000); close(loadDone) }()
		sleep(ctx, cfg.Pre)
		logf("%s: injecting", label)
		if err := inject(ctx); err != nil {
			lcancel()
			<-loadDone
			return audits, fmt.Errorf("%s: %w", name, err)
		}
		faultEnd := time.Now()
		logf("%s: fault over, load continues %s", label, cfg.Post)
		sleep(ctx, cfg.Post)
		lcancel()
		<-loadDone
		st = drv.End()
		logf("%s: load stopped (%d sent, %d acked), draining", label, st.Sent, st.Acked)
		a := Drain(ctx, label, st, work, obs, sink, faultEnd, stall, 5*time.Minute)
		audits = append(audits, a)
		rec := "NEVER (gave up)"
		if a.Recovery >= 0 {
			rec = a.Recovery.Round(100 * time.Millisecond).String()
		}
		logf("%s: lost raw=%d canonical=%d sink=%d, dup canonical=%d sink=%d, recovery %s",
			label, a.LostRaw, a.LostCanonical, a.SinkLost, a.DupCanonical, a.SinkDup, rec)
		for _, svc := range devrun.Services {
			if pr := p.Procs[svc]; !pr.Running() {
				logf("%s: %s is NOT RUNNING (exited on its own; see %s)", label, svc, pr.LogPath)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(out, "\n== chaos report: %d webhooks/s steady load, run %s\n", cfg.Rate, run)
	PrintAudits(out, audits)
	c := sink.Counts()
	fmt.Fprintf(out, "sink: %d deliveries (%d distinct events), %d answered 503 by injection, %d bad signatures; raw DLQ %d, dispatch DLQ %d\n",
		c.Deliveries, c.Distinct, c.Refused, c.BadSignature, obs.Count(p.Topics.RawDLQ), obs.Count(p.Topics.DispatchDLQ))
	lost := 0
	for _, a := range audits {
		lost += a.Lost()
	}
	fmt.Fprintf(out, "TOTAL LOST: %d\n", lost)
	if lost > 0 {
		return audits, fmt.Errorf("%w: %d", ErrLoss, lost)
	}
	return audits, nil
}

// faultFunc returns the injection of a named fault and its label.
func faultFunc(name string, cfg ChaosConfig, p *Pipeline, sink *receiver.Receiver) (func(context.Context) error, string, error) {
	needInfra := func() error {
		if cfg.Infra == nil {
			return fmt.Errorf("fault %s needs its own Kafka and Redis (Infra)", name)
		}
		return nil
	}
	switch name {
	case FaultBroker:
		if err := needInfra(); err != nil {
			return nil, "", err
		}
		return func(ctx context.Context) error {
			if err := cfg.Infra.StopKafka(); err != nil {
				return err
			}
			sleep(ctx, cfg.BrokerOutage)
			return cfg.Infra.StartKafka(ctx)
		}, fmt.Sprintf("%s %s", name, cfg.BrokerOutage), nil
	case FaultNormalizerKill, FaultDispatcherKill:
		svc := strings.TrimSuffix(name, "-sigkill")
		return func(ctx context.Context) error { return p.Restart(ctx, svc, syscall.SIGKILL) }, name, nil
	case FaultRedis:
		if err := needInfra(); err != nil {
			return nil, "", err
		}
		return func(ctx context.Context) error {
			if err := cfg.Infra.StopRedis(ctx); err != nil {
				return err
			}
			sleep(ctx, cfg.RedisOutage)
			return cfg.Infra.StartRedis(ctx)
		}, fmt.Sprintf("%s %s", name, cfg.RedisOutage), nil
	case FaultSink:
		return func(ctx context.Context) error {
			sink.SetFailing(true)
			sleep(ctx, cfg.SinkWindow)
			sink.SetFailing(false)
			return nil
		}, fmt.Sprintf("%s %s", name, cfg.SinkWindow), nil
	case FaultRolling:
		return func(ctx context.Context) error {
			for _, svc := range devrun.Services {
				if err := p.Restart(ctx, svc, syscall.SIGTERM); err != nil {
					return err
				}
			}
			return nil
		}, name, nil
	}
	return nil, "", fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(AllFaults, ", "))
}

// maxDelay is the longest of a comma-separated list of durations.
func maxDelay(list string) time.Duration {
	var m time.Duration
	for _, s := range strings.Split(list, ",") {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			m = max(m, d)
		}
	}
	return m
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
