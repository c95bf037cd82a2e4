package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
	"github.com/courierhook/pipeline/platform/lifecycle"
)

// repairEnv is what the repair subcommands share: the service's own
// configuration (same environment variables), a Redis client and an acks=all
// writer.
type repairEnv struct {
	cfg    app.Config
	rdb    *redis.Client
	writer broker.HealingWriter
	close  func()
}

func openRepairEnv(ctx context.Context, stderr io.Writer) (*repairEnv, bool) {
	cfg, err := config.Load[app.Config]()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword, DB: cfg.RedisDB})
	pctx, cancel := context.WithTimeout(ctx, cfg.RedisTimeout)
	err = rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		_ = rdb.Close()
		fmt.Fprintf(stderr, "connecting to redis %s: %v\n", cfg.RedisAddr, err)
		return nil, false
	}
	w := broker.NewWriter(cfg.Kafka, "", zap.NewNop(), broker.WriterOptions{WriteTimeout: cfg.WriteTimeout})
	return &repairEnv{cfg: cfg, rdb: rdb, writer: broker.HealingWriter{Writer: w}, close: func() {
		_ = w.Close()
		_ = rdb.Close()
	}}, true
}

// repairBatchEnv, when set, is the records per batch of `normalizer redrive`
// and `normalizer renormalize` (each produce, Redis round trip and, for
// renormalize, checkpoint); unset, each command keeps its own default
// (repair.RedriveConfig and repair.RenormalizeConfig: 200 and 500). It exists
// for the SIGKILL tests (repair_kill_integration_test.go): small batches make a
// run take many batches, so a kill lands between two of them. Operators have no
// reason to set it, so it is not among the README's variables.
const repairBatchEnv = "NORMALIZER_REPAIR_BATCH"

// repairBatch reads repairBatchEnv: 0 (the command's default) when unset; false
// after printing what is wrong with it.
func repairBatch(stderr io.Writer) (int, bool) {
	v := os.Getenv(repairBatchEnv)
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		fmt.Fprintf(stderr, "%s=%q: want records per batch, 1..100000\n", repairBatchEnv, v)
		return 0, false
	}
	return n, true
}

// parseTime reads an RFC 3339 time or a duration before now ("36h").
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 36h", s)
}

// progress shows a run's position and counts on one line: on a terminal a bar
// rewritten in place, otherwise (logs, CI) one plain line per second without the
// bar characters.
type progress struct {
	w    io.Writer
	tty  bool
	last time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(pos repair.Position, counts string, final bool) {
	line := position(pos, p.tty) + "  " + counts
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		if final {
			fmt.Fprintln(p.w)
		}
	case final || time.Since(p.last) >= time.Second:
		p.last = time.Now()
		fmt.Fprintln(p.w, line)
	}
}

// barWidth is the cells of the progress bar.
const barWidth = 20

// position renders a run's position as a percentage and done/total, after a
// bar when bar is set: "[=========>          ] 45% 4,500/10,000". Done is clamped to Total; a
// run with nothing to read (Total 0) is complete.
func position(pos repair.Position, bar bool) string {
	done, total := min(pos.Done, pos.Total), pos.Total
	pct, cells := 100, barWidth
	if total > 0 {
		pct, cells = int(done*100/total), int(done*barWidth/total)
	}
	s := fmt.Sprintf("%d%% %s/%s", pct, thousands(done), thousands(total))
	if !bar {
		return s
	}
	b := strings.Repeat("=", cells)
	if cells < barWidth {
		b += ">" + strings.Repeat(" ", barWidth-cells-1)
	}
	return "[" + b + "] " + s
}

// thousands formats n with comma thousands separators: 4500 -> "4,500".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fields(kv ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%v=%v", kv[i], kv[i+1])
	}
	return b.String()
}

// parseRange parses --since/--until (RFC 3339, or a duration ago); false after
// printing what is wrong.
func parseRange(since, until string, stderr io.Writer) (time.Time, time.Time, bool) {
	now := time.Now()
	s, sinceErr := parseTime(since, now)
	u, untilErr := parseTime(until, now)
	if sinceErr != nil || untilErr != nil {
		fmt.Fprintln(stderr, "--since/--until:", sinceErr, untilErr)
		return time.Time{}, time.Time{}, false
	}
	return s, u, true
}

// startRepair opens the repair environment and a context that SIGINT/SIGTERM
// cancel; done releases both. False after printing why it could not.
func startRepair(ctx context.Context, stderr io.Writer) (context.Context, *repairEnv, func(), bool) {
	env, ok := openRepairEnv(ctx, stderr)
	if !ok {
		return ctx, nil, nil, false
	}
	ctx, stop := lifecycle.SignalContext(ctx, zap.NewNop())
	return ctx, env, func() { stop(); env.close() }, true
}

// runShown runs a repair command with its position and counts (line) on a
// progress line and, unless dry, published to Redis for the service's
// normalizer_repair_* metrics. The last publish, running=false, is made also
// when a signal cancelled ctx: otherwise the run would stay "running" in Redis
// and RepairRunStalled would fire. Exit codes: 0 done, 1 stopped with an error
// (printed after stopped).
func runShown[C interface{ Map() map[string]int }](ctx context.Context, env *repairEnv, stderr io.Writer, command string,
	dry bool, line func(C) (repair.Position, string), progress *func(C), run func(context.Context) (C, error), stopped string) int {
	p := newProgress(stderr)
	publish := func(ctx context.Context, n C, running bool) {
		if !dry {
			repair.PublishProgress(ctx, env.rdb, env.cfg.RedisPrefix, command, n.Map(), running)
		}
	}
	*progress = func(n C) {
		pos, counts := line(n)
		p.show(pos, counts, false)
		publish(ctx, n, true)
	}
	n, err := run(ctx)
	pos, counts := line(n)
	p.show(pos, counts, true)
	publish(context.WithoutCancel(ctx), n, false)
	if err != nil {
		fmt.Fprintln(stderr, stopped, err)
		return 1
	}
	return 0
}
