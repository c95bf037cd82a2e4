package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

// BenchConfig configures RunBench.
type BenchConfig struct {
	// Root is the repository root; BinDir the built services; WorkDir receives
	// logs and the spool.
	Root, BinDir, WorkDir string
	// Brokers and RedisAddr are the real Kafka and Redis (make infra-up).
	Brokers   []string
	RedisAddr string
	// Rate and RateFor are the fixed-rate period; MaxFor and MaxConc the max
	// period (closed loop); BaseFor each baseline period.
	Rate             int
	RateFor, MaxFor  time.Duration
	MaxConc          int
	BaseFor, WarmFor time.Duration
	// RateOnly runs the fixed-rate pipeline period alone: no max period and no
	// baselines (for latency experiments: ~40 s instead of ~1.5 min).
	RateOnly bool
	// Out receives progress and the report.
	Out io.Writer
}

// Defaults fills zero fields: 1000/s for 20 s, max for 15 s at 64 connections,
// baselines 10 s each, 3 s warm-up.
func (c *BenchConfig) Defaults() {
	if c.Rate == 0 {
		c.Rate = 1000
	}
	if c.RateFor == 0 {
		c.RateFor = 20 * time.Second
	}
	if c.MaxFor == 0 {
		c.MaxFor = 15 * time.Second
	}
	if c.MaxConc == 0 {
		c.MaxConc = 64
	}
	if c.BaseFor == 0 {
		c.BaseFor = 10 * time.Second
	}
	if c.WarmFor == 0 {
		c.WarmFor = 3 * time.Second
	}
}

// result is one column of the report.
type result struct {
	label                 string
	st                    *Stats
	raw, ce, sink         []time.Duration
	normRate              float64
	normEvents            int
	usage                 map[string]Usage // delta CPU, peak RSS
	audit                 *Audit
	writes, writeFailures int
}

// RunBench runs the pipeline at a fixed rate and at max, then the two baselines
// (gateway with publishing off; a plain kafka-go producer), and prints the report.
func RunBench(ctx context.Context, cfg BenchConfig) error {
	cfg.Defaults()
	out := cfg.Out
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	run := strconv.FormatInt(time.Now().UnixMilli()%1e9, 10)
	templates, err := LoadTemplates(ctx, filepath.Join(cfg.BinDir, "normalizer"))
	if err != nil {
		return err
	}
	var results []*result

	// ---- the pipeline
	sink, err := NewSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	p, err := NewPipeline(ctx, PipelineConfig{
		BinDir: cfg.BinDir, WorkDir: filepath.Join(cfg.WorkDir, "pipeline"), Brokers: cfg.Brokers, RedisAddr: cfg.RedisAddr,
		RunID: run, SinkURL: sink.URL(), Publish: true, LogLevel: "warn", Creds: seed.Demo(),
	})
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		p.Stop()
		return err
	}
	logf("pipeline up: run %s, topics %s -> %s, logs %s", run, p.Topics.Raw, p.Topics.Canonical, p.Cfg.WorkDir)
	octx, ocancel := context.WithCancel(ctx)
	obs := NewObserver()
	obs.Tail(octx, cfg.Brokers, p.Topics.Canonical, p.Cfg.Partitions, KindCanonical)
	obs.Tail(octx, cfg.Brokers, p.Topics.Raw, p.Cfg.Partitions, KindRaw)
	work := NewWorkload(templates, run)
	drv := NewDriver(p.GatewayURL, seed.Demo(), work, run, max(cfg.MaxConc, 512))

	drv.Begin()
	drv.RunRate(ctx, 200, cfg.WarmFor, 2000)
	warm := drv.End()
	Drain(ctx, "warm-up", warm, work, obs, sink, time.Now(), 10*time.Second, 30*time.Second)

	measure := func(label string, load func()) *result {
		before := usages(p)
		st := drv.Begin()
		load()
		st = drv.End()
		logf("%s: %d sent, %d acked in %s; draining", label, st.Sent, st.Acked, st.End.Sub(st.Start).Round(time.Millisecond))
		a := Drain(ctx, label, st, work, obs, sink, st.End, 15*time.Second, 90*time.Second)
		after := usages(p)
		r := &result{label: label, st: st, audit: &a, usage: map[string]Usage{}}
		r.raw = obs.RawLatencies(st.Start, st.End)
		r.ce = obs.Latencies(st.Start, st.End)
		r.sink = sink.Latencies(st.Start, st.End)
		r.normRate, r.normEvents = obs.Throughput(st.Start, time.Now())
		for k, u := range after {
			r.usage[k] = Usage{CPU: u.CPU - before[k].CPU, PeakRSS: u.PeakRSS}
		}
		return r
	}
	results = append(results, measure(fmt.Sprintf("pipeline %d/s", cfg.Rate), func() { drv.RunRate(ctx, cfg.Rate, cfg.RateFor, 5000) }))
	if !cfg.RateOnly {
		results = append(results, measure("pipeline max", func() { drv.RunMax(ctx, cfg.MaxConc, cfg.MaxFor) }))
	}
	p.Stop()
	ocancel()
	obs.Wait()
	if cfg.RateOnly {
		printBench(out, cfg, run, results)
		return lossErr(results)
	}

	// ---- baseline 1: the gateway with publishing disabled (HTTP ceiling)
	gw, err := NewPipeline(ctx, PipelineConfig{
		BinDir: cfg.BinDir, WorkDir: filepath.Join(cfg.WorkDir, "http-only"), Brokers: cfg.Brokers, RedisAddr: cfg.RedisAddr,
		RunID: run + "0", Publish: false, LogLevel: "warn", Services: []string{"gateway"}, Creds: seed.Demo(),
	})
	if err != nil {
		return err
	}
	if err := gw.Start(ctx); err != nil {
		gw.Stop()
		return err
	}
	gdrv := NewDriver(gw.GatewayURL, seed.Demo(), NewWorkload(templates, run+"0"), run+"0", max(cfg.MaxConc, 512))
	gdrv.Begin()
	gdrv.RunRate(ctx, 200, cfg.WarmFor, 2000)
	gdrv.End()
	for _, ph := range []struct {
		label string
		load  func()
	}{
		{fmt.Sprintf("http-only %d/s", cfg.Rate), func() { gdrv.RunRate(ctx, cfg.Rate, cfg.BaseFor, 5000) }},
		{"http-only max", func() { gdrv.RunMax(ctx, cfg.MaxConc, cfg.BaseFor) }},
	} {
		before := usages(gw)
		gdrv.Begin()
		ph.load()
		st := gdrv.End()
		after := usages(gw)
		r := &result{label: ph.label, st: st, usage: map[string]Usage{}}
		for k, u := range after {
			r.usage[k] = Usage{CPU: u.CPU - before[k].CPU, PeakRSS: u.PeakRSS}
		}
		results = append(results, r)
		logf("%s: %d acked", ph.label, st.Acked)
	}
	gw.Stop()

	// ---- baseline 2: a plain kafka-go producer writing the same records (broker ceiling)
	topic := "e2e." + run + ".ceiling"
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = broker.EnsureTopics(tctx, cfg.Brokers, broker.TopicSpec{Name: topic, Partitions: 6})
	cancel()
	if err != nil {
		return err
	}
	w := broker.NewWriter(broker.Config{Brokers: cfg.Brokers, ClientID: "e2e-bench"}, topic, nil, broker.WriterOptions{BatchTimeout: 500 * time.Microsecond})
	defer w.Close()
	pw := &producer{w: w, work: NewWorkload(templates, run+"1")}
	pw.run(ctx, 200, 0, cfg.WarmFor)
	results = append(results, pw.run(ctx, cfg.Rate, 0, cfg.BaseFor).named(fmt.Sprintf("kafka-go %d/s", cfg.Rate)))
	results = append(results, pw.run(ctx, 0, cfg.MaxConc, cfg.BaseFor).named("kafka-go max"))

	printBench(out, cfg, run, results)
	return lossErr(results)
}

func lossErr(results []*result) error {
	for _, r := range results {
		if r.audit != nil && r.audit.Lost() > 0 {
			return fmt.Errorf("%w: %s lost %d", ErrLoss, r.label, r.audit.Lost())
		}
	}
	return nil
}

func (r *result) named(label string) *result { r.label = label; return r }

func usages(p *Pipeline) map[string]Usage {
	m := map[string]Usage{}
	for name, pr := range p.Procs {
		m[name] = pr.Usage()
	}
	return m
}

// producer is the broker-ceiling baseline: synchronous one-record writes from
// concurrent goroutines on one shared writer, as the gateway's handlers do, with
// the gateway's writer settings and the same values and headers.
type producer struct {
	w    *kafka.Writer
	work *Workload
	seq  atomic.Int64
}

func (p *producer) record() kafka.Message {
	r := p.work.Next()
	t := p.work.Templates[r.Template]
	return kafka.Message{Key: []byte(r.Tag), Value: r.Body, Headers: []kafka.Header{
		{Key: schemas.HeaderProvider, Value: []byte(t.Provider)},
		{Key: schemas.HeaderReceivedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		{Key: schemas.HeaderRequestID, Value: []byte("p" + strconv.FormatInt(p.seq.Add(1), 10))},
		{Key: schemas.HeaderContentType, Value: []byte("application/json")},
	}}
}

// run writes at rate (open loop) or, with rate 0, from conc closed-loop workers.
func (p *producer) run(ctx context.Context, rate, conc int, d time.Duration) *result {
	st := &Stats{Start: time.Now(), Status: map[int]int{}}
	var mu sync.Mutex
	write := func() {
		m := p.record()
		t0 := time.Now()
		err := p.w.WriteMessages(ctx, m)
		lat := time.Since(t0)
		mu.Lock()
		st.Sent++
		if err != nil {
			st.Failed++
		} else {
			st.Acked++
			st.Latencies = append(st.Latencies, lat)
		}
		mu.Unlock()
	}
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	if rate > 0 {
		start, sent := time.Now(), 0
		tick := time.NewTicker(time.Millisecond)
	loop:
		for {
			select {
			case <-dctx.Done():
				break loop
			case <-tick.C:
			}
			for due := int(time.Since(start).Seconds() * float64(rate)); sent < due; sent++ {
				wg.Go(write)
			}
		}
		tick.Stop()
	} else {
		for range conc {
			wg.Go(func() {
				for dctx.Err() == nil {
					write()
				}
			})
		}
	}
	wg.Wait()
	st.End = time.Now()
	slices.Sort(st.Latencies)
	return &result{st: st, writes: st.Acked, writeFailures: st.Failed}
}

// printBench writes the side-by-side report.
func printBench(out io.Writer, cfg BenchConfig, run string, rs []*result) {
	host, _ := os.Hostname()
	fmt.Fprintf(out, "\n== bench report  run %s  %s  host %s  GOMAXPROCS %d  kafka %s  redis %s\n",
		run, time.Now().UTC().Format(time.RFC3339), host, runtime.GOMAXPROCS(0), strings.Join(cfg.Brokers, ","), cfg.RedisAddr)
	fmt.Fprintf(out, "fixed rate %d/s for %s; max = %d closed-loop connections for %s; baselines %s each; load tool, services and Kafka share the machine\n",
		cfg.Rate, cfg.RateFor, cfg.MaxConc, cfg.MaxFor, cfg.BaseFor)
	ms := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	}
	row := func(name string, f func(r *result) string) {
		fmt.Fprintf(out, "%-34s", name)
		for _, r := range rs {
			fmt.Fprintf(out, " %16s", f(r))
		}
		fmt.Fprintln(out)
	}
	row("", func(r *result) string { return r.label })
	row("webhooks/s accepted (2xx)", func(r *result) string { return fmt.Sprintf("%.0f", r.st.Rate()) })
	row("sent / acked / failed+non-2xx", func(r *result) string {
		bad := r.st.Failed
		for _, n := range r.st.Status {
			bad += n
		}
		return fmt.Sprintf("%d/%d/%d", r.st.Sent, r.st.Acked, bad)
	})
	row("ack latency p50", func(r *result) string { return ms(r.st.Percentile(.50)) })
	row("ack latency p95", func(r *result) string { return ms(r.st.Percentile(.95)) })
	row("ack latency p99", func(r *result) string { return ms(r.st.Percentile(.99)) })
	row("gateway rx -> raw tailed p50", func(r *result) string { return ms(percentile(r.raw, .50)) })
	row("gateway rx -> raw tailed p99", func(r *result) string { return ms(percentile(r.raw, .99)) })
	row("gateway rx -> canonical p50", func(r *result) string { return ms(percentile(r.ce, .50)) })
	row("gateway rx -> canonical p99", func(r *result) string { return ms(percentile(r.ce, .99)) })
	row("gateway rx -> HTTP sink p50", func(r *result) string { return ms(percentile(r.sink, .50)) })
	row("gateway rx -> HTTP sink p99", func(r *result) string { return ms(percentile(r.sink, .99)) })
	row("normalizer canonical events/s", func(r *result) string {
		if r.normEvents == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f (%d)", r.normRate, r.normEvents)
	})
	for _, svc := range devrun.Services {
		row("CPU s "+svc, func(r *result) string {
			u, ok := r.usage[svc]
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.1f", u.CPU.Seconds())
		})
	}
	for _, svc := range devrun.Services {
		row("peak RSS MiB "+svc, func(r *result) string {
			u, ok := r.usage[svc]
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.0f", float64(u.PeakRSS)/1024)
		})
	}
	row("audit lost raw/canonical/sink", func(r *result) string {
		if r.audit == nil {
			return "-"
		}
		return fmt.Sprintf("%d/%d/%d", r.audit.LostRaw, r.audit.LostCanonical, r.audit.SinkLost)
	})
	row("audit dup canonical/sink", func(r *result) string {
		if r.audit == nil {
			return "-"
		}
		return fmt.Sprintf("%d/%d", r.audit.DupCanonical, r.audit.SinkDup)
	})
	find := func(prefix string, max bool) *result {
		for _, r := range rs {
			if strings.HasPrefix(r.label, prefix) && strings.HasSuffix(r.label, "max") == max {
				return r
			}
		}
		return nil
	}
	fmt.Fprintln(out, "ratios (pipeline / baseline):")
	for _, m := range []bool{false, true} {
		mode := fmt.Sprintf("at %d/s", cfg.Rate)
		if m {
			mode = "at max"
		}
		pl, h, k := find("pipeline", m), find("http-only", m), find("kafka-go", m)
		if pl == nil || h == nil || k == nil {
			continue
		}
		ratio := func(a, b float64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		fmt.Fprintf(out, "  %-10s throughput: %s of the HTTP ceiling, %s of the broker ceiling; ack p50: %s x HTTP-only, %s x kafka-go; ack p99: %s x HTTP-only, %s x kafka-go\n",
			mode, ratio(pl.st.Rate(), h.st.Rate()), ratio(pl.st.Rate(), k.st.Rate()),
			ratio(float64(pl.st.Percentile(.5)), float64(h.st.Percentile(.5))), ratio(float64(pl.st.Percentile(.5)), float64(k.st.Percentile(.5))),
			ratio(float64(pl.st.Percentile(.99)), float64(h.st.Percentile(.99))), ratio(float64(pl.st.Percentile(.99)), float64(k.st.Percentile(.99))))
	}
}
