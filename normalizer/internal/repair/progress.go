package repair

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Commands whose progress is published.
const (
	CommandRedrive     = "redrive"
	CommandRenormalize = "renormalize"
)

// progressKey is the hash holding a command's latest progress.
func progressKey(prefix, command string) string { return prefix + "rp:" + command }

// PublishProgress records a command's counts in Redis so the normalizer service
// can export them (ProgressCollector): the commands are short-lived processes
// Prometheus does not scrape. running is false on the last call of a run. It is
// best effort: a failure only loses a progress sample.
func PublishProgress(ctx context.Context, rdb redis.UniversalClient, prefix, command string, counts map[string]int, running bool) {
	args := make([]any, 0, 2*len(counts)+4)
	for k, v := range counts {
		args = append(args, "c:"+k, v)
	}
	args = append(args, "updated", time.Now().Unix(), "running", strconv.FormatBool(running))
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	k := progressKey(prefix, command)
	pipe := rdb.Pipeline()
	pipe.Del(ctx, k)
	pipe.HSet(ctx, k, args...)
	pipe.Expire(ctx, k, 7*24*time.Hour)
	_, _ = pipe.Exec(ctx)
}

// ProgressCollector exports the latest redrive and renormalize progress read
// from Redis on each scrape:
//
//	normalizer_repair_records{command,count}           the run's counts
//	normalizer_repair_running{command}                 1 while a run is in progress
//	normalizer_repair_last_update_timestamp_seconds{command}
type ProgressCollector struct {
	rdb     redis.UniversalClient
	prefix  string
	records *prometheus.Desc
	running *prometheus.Desc
	updated *prometheus.Desc
}

// NewProgressCollector reads the progress under prefix.
func NewProgressCollector(rdb redis.UniversalClient, prefix string) *ProgressCollector {
	return &ProgressCollector{
		rdb: rdb, prefix: prefix,
		records: desc(progressMetrics[0], "command", "count"),
		running: desc(progressMetrics[1], "command"),
		updated: desc(progressMetrics[2], "command"),
	}
}

// progressMetrics are the collector's series.
var progressMetrics = []prometheus.Opts{
	{Name: "normalizer_repair_records", Help: "Counts of the latest redrive/renormalize run (read, redriven, still_dead, corrected, ...)."},
	{Name: "normalizer_repair_running", Help: "1 while a redrive/renormalize run reports progress and has not finished."},
	{Name: "normalizer_repair_last_update_timestamp_seconds", Help: "When the latest redrive/renormalize run last reported progress."},
}

func desc(o prometheus.Opts, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(o.Name, o.Help, labels, nil)
}

// Describe implements prometheus.Collector.
func (c *ProgressCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.records
	ch <- c.running
	ch <- c.updated
}

// Collect implements prometheus.Collector; a Redis failure yields no samples.
func (c *ProgressCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, cmd := range []string{CommandRedrive, CommandRenormalize} {
		h, err := c.rdb.HGetAll(ctx, progressKey(c.prefix, cmd)).Result()
		if err != nil || len(h) == 0 {
			continue
		}
		for k, v := range h {
			switch {
			case len(k) > 2 && k[:2] == "c:":
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, n, cmd, k[2:])
				}
			case k == "updated":
				if n, err := strconv.ParseFloat(v, 64); err == nil {
					ch <- prometheus.MustNewConstMetric(c.updated, prometheus.GaugeValue, n, cmd)
				}
			case k == "running":
				r := 0.0
				if v == "true" {
					r = 1
				}
				ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, r, cmd)
			}
		}
	}
}

// Map returns the counts by name, as published.
func (n RedriveCounts) Map() map[string]int {
	return map[string]int{"read": n.Read, "selected": n.Selected, "already_redriven": n.Done, "skipped_redriven": n.SkippedRedriven,
		"now_mapped": n.NowMapped, "still_dead": n.StillDead, "redriven": n.Redriven}
}

// Map returns the counts by name, as published.
func (n RenormalizeCounts) Map() map[string]int {
	return map[string]int{"read": n.Read, "no_index": n.NoIndex, "dead": n.Dead, "redelivered": n.Redelivered, "other_provider": n.Skipped,
		"unchanged": n.Unchanged, "corrected": n.Corrected, "unmatched": n.Unmatched, "already_corrected": n.AlreadyCorrected}
}
