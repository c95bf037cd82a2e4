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
	// Scale-out faults (chaos_scale.go).
	FaultNormalizerScale = "normalizer-scale"
	FaultDispatcherScale = "dispatcher-scale"
	FaultGatewayPair     = "gateway-pair-sigkill"
)

// AllFaults is the default fault sequence.
var AllFaults = []string{FaultBroker, FaultNormalizerKill, FaultDispatcherKill, FaultRedis, FaultSink, FaultRolling,
	FaultNormalizerScale, FaultDispatcherScale, FaultGatewayPair}

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
	// ScaleHold is how long the scale faults keep the larger size and how long
	// the gateway pair runs with one gateway SIGKILLed before it restarts.
	ScaleHold time.Duration
	// NormalizerMax and DispatcherMax are the sizes the scale faults go to from
	// one (defaults 3 and 2).
	NormalizerMax, DispatcherMax int
	// Out receives progress and the report.
	Out io.Writer
}

// Defaults fills the durations (quick: CHAOS_QUICK=1), the rate and the faults.
func (c *ChaosConfig) Defaults(quick bool) {
	if quick {
		c.BrokerOutage, c.RedisOutage, c.SinkWindow, c.Pre, c.Post = 10*time.Second, 5*time.Second, 15*time.Second, 3*time.Second, 3*time.Second
		c.RetryDelays = "2s,5s,10s,20s"
		c.ScaleHold = 8 * time.Second
	} else {
		c.ScaleHold = 20 * time.Second
		c.BrokerOutage, c.RedisOutage, c.SinkWindow, c.Pre, c.Post = 30*time.Second, 10*time.Second, 60*time.Second, 5*time.Second, 5*time.Second
		c.RetryDelays = "5s,15s,30s,60s"
	}
	if c.Rate == 0 {
		c.Rate = 200
	}
	if c.NormalizerMax == 0 {
		c.NormalizerMax = 3
	}
	if c.DispatcherMax == 0 {
		c.DispatcherMax = 2
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
	cr := &chaosRun{cfg: cfg, p: p, sink: sink, drv: drv, logf: logf}
	var audits []Audit
	for _, name := range cfg.Faults {
		f, err := cr.fault(name)
		if err != nil {
			return audits, err
		}
		if f.setup != nil {
			if err := f.setup(ctx); err != nil {
				return audits, fmt.Errorf("%s: setting up: %w", name, err)
			}
		}
		st := drv.Begin()
		lctx, lcancel := context.WithCancel(ctx)
		loadDone := make(chan struct{})
		go func() { drv.RunRate(lctx, cfg.Rate, 24*time.Hour, 2000); close(loadDone) }()
		sleep(ctx, cfg.Pre)
		logf("%s: injecting", f.label)
		cr.meter = startPauses(ctx, obs.CanonicalRecords, func() int { return sink.Counts().Deliveries })
		if err := f.inject(ctx); err != nil {
			lcancel()
			<-loadDone
			cr.meter.Stop()
			return audits, fmt.Errorf("%s: %w", name, err)
		}
		faultEnd := time.Now()
		logf("%s: fault over, load continues %s", f.label, cfg.Post)
		sleep(ctx, cfg.Post)
		lcancel()
		<-loadDone
		steps := cr.meter.Stop()
		st = drv.End()
		logf("%s: load stopped (%d sent, %d acked), draining", f.label, st.Sent, st.Acked)
		a := Drain(ctx, f.label, st, work, obs, sink, faultEnd, stall, 5*time.Minute)
		a.Pause = longest(steps)
		a.PauseSteps = pauseSteps(steps)
		a.Notes, cr.notes = cr.notes, nil
		audits = append(audits, a)
		rec := "NEVER (gave up)"
		if a.Recovery >= 0 {
			rec = a.Recovery.Round(100 * time.Millisecond).String()
		}
		logf("%s: lost raw=%d canonical=%d sink=%d, dup canonical=%d sink=%d, recovery %s, longest pause canonical %s sink %s",
			f.label, a.LostRaw, a.LostCanonical, a.SinkLost, a.DupCanonical, a.SinkDup, rec,
			a.Pause.Canonical.Round(pauseEvery), a.Pause.Sink.Round(pauseEvery))
		for _, svc := range devrun.Services {
			for _, pr := range p.Instances(svc) {
				if !pr.Running() {
					logf("%s: %s is NOT RUNNING (exited on its own; see %s)", f.label, pr.Name, pr.LogPath)
				}
			}
		}
		if f.teardown != nil {
			if err := f.teardown(ctx); err != nil {
				return audits, fmt.Errorf("%s: tearing down: %w", name, err)
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

// chaosRun is what the faults act on.
type chaosRun struct {
	cfg  ChaosConfig
	p    *Pipeline
	sink *receiver.Receiver
	drv  *Driver
	logf func(format string, args ...any)
	// meter measures the current fault's pauses; faults Mark their steps.
	meter *pauseMeter
	// notes are the current fault's findings for the report (note).
	notes []string
}

// note logs a finding and keeps it for the current fault's audit.
func (r *chaosRun) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.logf("%s", s)
	r.notes = append(r.notes, s)
}

// fault is one named fault: setup runs before the period's load starts,
// inject during it, teardown after its audit (setup and teardown may be nil).
type fault struct {
	label                   string
	setup, inject, teardown func(context.Context) error
}

// fault returns the named fault.
func (r *chaosRun) fault(name string) (fault, error) {
	cfg, p, sink := r.cfg, r.p, r.sink
	needInfra := func() error {
		if cfg.Infra == nil {
			return fmt.Errorf("fault %s needs its own Kafka and Redis (Infra)", name)
		}
		return nil
	}
	switch name {
	case FaultBroker:
		if err := needInfra(); err != nil {
			return fault{}, err
		}
		return fault{label: fmt.Sprintf("%s %s", name, cfg.BrokerOutage), inject: func(ctx context.Context) error {
			if err := cfg.Infra.StopKafka(); err != nil {
				return err
			}
			sleep(ctx, cfg.BrokerOutage)
			return cfg.Infra.StartKafka(ctx)
		}}, nil
	case FaultNormalizerKill, FaultDispatcherKill:
		svc := strings.TrimSuffix(name, "-sigkill")
		return fault{label: name, inject: func(ctx context.Context) error { return p.Restart(ctx, svc, syscall.SIGKILL) }}, nil
	case FaultRedis:
		if err := needInfra(); err != nil {
			return fault{}, err
		}
		return fault{label: fmt.Sprintf("%s %s", name, cfg.RedisOutage), inject: func(ctx context.Context) error {
			if err := cfg.Infra.StopRedis(ctx); err != nil {
				return err
			}
			sleep(ctx, cfg.RedisOutage)
			return cfg.Infra.StartRedis(ctx)
		}}, nil
	case FaultSink:
		return fault{label: fmt.Sprintf("%s %s", name, cfg.SinkWindow), inject: func(ctx context.Context) error {
			sink.SetFailing(true)
			sleep(ctx, cfg.SinkWindow)
			sink.SetFailing(false)
			return nil
		}}, nil
	case FaultRolling:
		return fault{label: name, inject: func(ctx context.Context) error {
			for _, svc := range devrun.Services {
				if err := p.Restart(ctx, svc, syscall.SIGTERM); err != nil {
					return err
				}
			}
			return nil
		}}, nil
	case FaultNormalizerScale:
		return r.scale("normalizer", cfg.NormalizerMax), nil
	case FaultDispatcherScale:
		return r.scale("dispatcher", cfg.DispatcherMax), nil
	case FaultGatewayPair:
		return r.gatewayPair(), nil
	}
	return fault{}, fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(AllFaults, ", "))
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
