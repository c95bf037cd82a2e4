package e2e

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/courierhook/pipeline/deployments/internal/seed"
	"github.com/courierhook/pipeline/platform/broker"
)

// ScaleBenchConfig configures RunScaleBench (`CHAOS_SCALE_BENCH=1 make chaos`).
type ScaleBenchConfig struct {
	// Root is the repository root; BinDir the built services; WorkDir receives
	// logs and the spool.
	Root, BinDir, WorkDir string
	// Brokers and RedisAddr are the Kafka and Redis to use. Infra, when set, is
	// where they come from: then the report adds their CPU and the Redis
	// commands per event (meaningful only when nothing else uses them).
	Brokers   []string
	RedisAddr string
	Infra     *Infra
	// Records is how many webhooks to backlog on the raw topic (default 60,000).
	Records int
	// Counts are the normalizer process counts to measure (default 1, 2, 3).
	Counts []int
	// Partitions of the raw and canonical topics (default 6): the most
	// normalizers that can share the work.
	Partitions int
	// Out receives progress and the report.
	Out io.Writer
}

// ScaleResult is one row of the scale bench: k normalizer processes draining
// the same backlog into a fresh canonical topic with a fresh group and Redis prefix.
type ScaleResult struct {
	Normalizers int
	// Shares is the partitions per member once the group was stable.
	Shares []int
	// Events are the distinct canonical events written, Dups the extra copies.
	Events, Dups int
	// Drain is processes started → last canonical record.
	Drain time.Duration
	// Rate is events/s between the 10th and the 90th percentile record
	// timestamps (start-up, group join and the tail left out); AllRate is
	// Events / Drain.
	Rate, AllRate float64
	// NormCPU is the CPU of all normalizer processes; KafkaCPU and RedisCPU of
	// the broker and Redis over the same drain (0 without Infra).
	NormCPU, KafkaCPU, RedisCPU time.Duration
	// RedisCmds is Redis's total_commands_processed over the drain (0 without Infra).
	RedisCmds int64
}

// RunScaleBench backlogs Records webhooks on the raw topic through the gateway
// (then stops it), and for each count k starts k normalizers at once on that
// backlog, each time with a new consumer group (so it reads from the start), a
// new canonical topic and a new Redis prefix (so nothing is a duplicate of the
// previous run), and measures how fast they drain it. It prints one table.
func RunScaleBench(ctx context.Context, cfg ScaleBenchConfig) ([]ScaleResult, error) {
	if cfg.Records == 0 {
		cfg.Records = 60000
	}
	if len(cfg.Counts) == 0 {
		cfg.Counts = []int{1, 2, 3}
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 6
	}
	out := cfg.Out
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "[scale %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	run := strconv.FormatInt(time.Now().UnixMilli()%1e9, 10)
	templates, err := LoadTemplates(ctx, filepath.Join(cfg.BinDir, "normalizer"))
	if err != nil {
		return nil, err
	}
	p, err := NewPipeline(ctx, PipelineConfig{
		BinDir: cfg.BinDir, WorkDir: cfg.WorkDir, Brokers: cfg.Brokers, RedisAddr: cfg.RedisAddr, RunID: run,
		Partitions: cfg.Partitions, Publish: true, Creds: seed.Demo(), LogLevel: "warn",
		Services: []string{"gateway"}, SinkURL: "http://127.0.0.1:9/unused",
	})
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	work := NewWorkload(templates, run)
	expected, rate, err := backlog(ctx, p, work, cfg.Records)
	if err != nil {
		return nil, err
	}
	p.Procs["gateway"].Stop(syscall.SIGTERM, 40*time.Second)
	logf("backlog: %d webhooks on %s (%.0f/s through the gateway), %d canonical events owed; gateway stopped",
		cfg.Records, p.Topics.Raw, rate, expected)

	var results []ScaleResult
	for _, k := range cfg.Counts {
		res, err := drainWith(ctx, cfg, p, k, expected)
		if err != nil {
			return results, fmt.Errorf("%d normalizers: %w", k, err)
		}
		logf("%d normalizers: %d events in %s, %.0f events/s (p10-p90), partitions per member %v",
			k, res.Events, res.Drain.Round(10*time.Millisecond), res.Rate, res.Shares)
		results = append(results, res)
	}
	fmt.Fprintf(out, "\n== scale bench: %d webhooks backlogged (%d canonical events), %d partitions, run %s\n",
		cfg.Records, expected, cfg.Partitions, run)
	PrintScale(out, results)
	return results, nil
}

// backlog sends records webhooks through the gateway as fast as 64 connections
// go and waits until each acknowledged one is on the raw topic. It returns the
// canonical events they owe and the acknowledged rate.
func backlog(ctx context.Context, p *Pipeline, work *Workload, records int) (int, float64, error) {
	obs := NewObserver()
	octx, ocancel := context.WithCancel(ctx)
	defer func() { ocancel(); obs.Wait() }()
	obs.Tail(octx, p.Cfg.Brokers, p.Topics.Raw, p.Cfg.Partitions, KindRaw)
	drv := NewDriver(p.GatewayURL, seed.Demo(), work, p.Cfg.RunID, 128)
	drv.Begin()
	lctx, lcancel := context.WithCancel(ctx)
	go func() {
		for lctx.Err() == nil {
			if drv.Acked() >= records {
				lcancel()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	drv.RunMax(lctx, 64, time.Hour)
	lcancel()
	st := drv.End()
	if st.Acked < records {
		return 0, 0, fmt.Errorf("backlog: %d of %d webhooks acknowledged", st.Acked, records)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		missing := 0
		for id := range st.AckedIDs {
			if obs.RawCount(id) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, 0, fmt.Errorf("backlog: %d acknowledged webhooks not on %s", missing, p.Topics.Raw)
		}
		time.Sleep(500 * time.Millisecond)
	}
	expected := 0
	for tag := range st.Expected {
		expected += st.ExpectedEvents(work, tag)
	}
	return expected, st.Rate(), nil
}

// drainWith starts k normalizers on the backlog and measures them.
func drainWith(ctx context.Context, cfg ScaleBenchConfig, p *Pipeline, k, expected int) (ScaleResult, error) {
	res := ScaleResult{Normalizers: k}
	suffix := ".n" + strconv.Itoa(k)
	canonical, group := p.Topics.Canonical+suffix, p.Group("normalizer")+suffix
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := broker.EnsureTopics(tctx, cfg.Brokers, broker.TopicSpec{Name: canonical, Partitions: cfg.Partitions})
	cancel()
	if err != nil {
		return res, err
	}
	obs := NewObserver()
	octx, ocancel := context.WithCancel(ctx)
	defer func() { ocancel(); obs.Wait() }()
	obs.Tail(octx, cfg.Brokers, canonical, cfg.Partitions, KindCanonical)

	procs := make([]*Proc, k)
	for i := range procs {
		pr, err := p.NewInstance("normalizer", "NORMALIZER_CANONICAL_TOPIC="+canonical, "NORMALIZER_GROUP="+group,
			"NORMALIZER_REDIS_PREFIX="+p.Cfg.RedisPrefix+"n"+strconv.Itoa(k)+":")
		if err != nil {
			return res, err
		}
		procs[i] = pr
	}
	kafka0, redis0, cmds0 := cfg.infraUsage(ctx)
	t0 := time.Now()
	for _, pr := range procs {
		if err := pr.Start(); err != nil {
			return res, err
		}
	}
	defer func() {
		for _, pr := range procs {
			if pr.Started() {
				pr.Stop(syscall.SIGTERM, 40*time.Second)
			}
		}
	}()
	last, lastChange := -1, time.Now()
	for obs.Distinct() < expected {
		if n := obs.Distinct(); n != last {
			last, lastChange = n, time.Now()
		}
		if res.Shares == nil {
			if state, shares, err := groupShares(ctx, cfg.Brokers, group, p.Topics.Raw); err == nil && state == "Stable" && len(shares) == k {
				res.Shares = shares
			}
		}
		if time.Since(lastChange) > 60*time.Second || ctx.Err() != nil {
			return res, fmt.Errorf("stalled at %d of %d canonical events (logs %s)", last, expected, cfg.WorkDir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, pr := range procs {
		res.NormCPU += pr.Usage().CPU
	}
	kafka1, redis1, cmds1 := cfg.infraUsage(ctx)
	res.KafkaCPU, res.RedisCPU, res.RedisCmds = kafka1-kafka0, redis1-redis0, cmds1-cmds0

	times := obs.CanonicalTimes()
	res.Events, res.Dups = obs.Distinct(), obs.CanonicalRecords()-obs.Distinct()
	n := len(times)
	if n < 10 {
		return res, fmt.Errorf("only %d canonical records", n)
	}
	res.Drain = times[n-1].Sub(t0)
	res.AllRate = float64(res.Events) / res.Drain.Seconds()
	i10, i90 := n/10, n*9/10
	res.Rate = float64(i90-i10) / times[i90].Sub(times[i10]).Seconds()
	return res, nil
}

// infraUsage reads the broker's and Redis's CPU time and Redis's
// total_commands_processed (zeros without Infra or on error).
func (c ScaleBenchConfig) infraUsage(ctx context.Context) (kafka, redis time.Duration, cmds int64) {
	if c.Infra == nil {
		return 0, 0, 0
	}
	if pid, err := c.Infra.pid("kafka"); err == nil {
		kafka, _ = procCPU(pid)
	}
	if pid, err := c.Infra.pid("redis"); err == nil {
		redis, _ = procCPU(pid)
	}
	out, err := exec.CommandContext(ctx, "redis-cli", "-p", strconv.Itoa(c.Infra.RedisPort), "INFO", "stats").Output()
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
				cmds, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return kafka, redis, cmds
}

// PrintScale writes the scale bench table: per row the partitions per member,
// the drain, the two rates, the speed-up over the first row, and the CPU (and
// Redis commands) per canonical event.
func PrintScale(out io.Writer, rs []ScaleResult) {
	fmt.Fprintf(out, "%-11s %-11s %7s %5s %8s %10s %10s %8s %12s %12s %12s %10s\n",
		"normalizers", "partitions", "events", "dups", "drain", "ev/s p10-90", "ev/s all", "speed-up",
		"norm µs/ev", "kafka µs/ev", "redis µs/ev", "redis cmd/ev")
	for _, r := range rs {
		perEv := func(d time.Duration) string {
			if d <= 0 || r.Events == 0 {
				return "-"
			}
			return strconv.FormatFloat(float64(d.Microseconds())/float64(r.Events), 'f', 0, 64)
		}
		cmds := "-"
		if r.RedisCmds > 0 && r.Events > 0 {
			cmds = strconv.FormatFloat(float64(r.RedisCmds)/float64(r.Events), 'f', 3, 64)
		}
		up := "-"
		if len(rs) > 0 && rs[0].Rate > 0 {
			up = strconv.FormatFloat(r.Rate/rs[0].Rate, 'f', 2, 64) + "x"
		}
		shares := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(r.Shares)), "+"), "[]")
		fmt.Fprintf(out, "%-11d %-11s %7d %5d %8s %10.0f %10.0f %8s %12s %12s %12s %10s\n",
			r.Normalizers, shares, r.Events, r.Dups, r.Drain.Round(10*time.Millisecond), r.Rate, r.AllRate, up,
			perEv(r.NormCPU), perEv(r.KafkaCPU), perEv(r.RedisCPU), cmds)
	}
}
