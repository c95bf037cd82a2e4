package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/config"
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

// progress renders counts on one line: rewritten in place on a terminal, one line
// per second otherwise (logs, CI).
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

func (p *progress) show(line string, final bool) {
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
