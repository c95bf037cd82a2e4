// Command normbench measures end-to-end canonical events per second through real
// Kafka and Redis, next to plain kafka-go consume → produce → commit loops over
// the same raw records in the same batch sizes (without and with a Redis dedup
// check per record), and prints them, their ratios and what each cost Redis.
// The normalizer reads as in production (broker.GroupReader, commits at most
// once a second) and writes what production writes to Redis (dedup marks, state,
// claims, re-delivery window marks and, unless -index=false, the lookup index);
// the plain loops read with a plain *kafka.Reader and commit every batch.
//
//	KAFKA_BROKERS=127.0.0.1:9092 REDIS_ADDR=127.0.0.1:6379 go run ./cmd/normbench -n 100000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/app"
	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 100000, "raw records")
	partitions := flag.Int("partitions", 6, "partitions per topic")
	batch := flag.Int("batch", 1000, "records per batch (both loops)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the normalizer run to this file")
	workers := flag.Int("workers", 1, "normalizer consumers in the group, each with its own reader (as that many replicas on one machine)")
	traceOut := flag.String("trace", "", "write an execution trace of the normalizer run to this file")
	withIndex := flag.Bool("index", true, "write the lookup index, as the service does (false: dedup, state and claims only)")
	flag.Parse()
	profile, traceFile = *cpuprofile, *traceOut
	brokers := strings.Split(env("KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	cfg := broker.Config{Brokers: brokers, ClientID: "normbench"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	run := "normbench." + uuid.NewString()[:8]
	raw, plainOut, canon, dlq := run+".raw", run+".plain", run+".canonical", run+".dlq"
	if err := broker.EnsureTopics(ctx, brokers,
		broker.TopicSpec{Name: raw, Partitions: *partitions}, broker.TopicSpec{Name: plainOut, Partitions: *partitions},
		broker.TopicSpec{Name: canon, Partitions: *partitions}, broker.TopicSpec{Name: dlq, Partitions: 1}); err != nil {
		return err
	}
	defer deleteTopics(brokers, raw, plainOut, canon, dlq)

	if err := fill(ctx, cfg, raw, *n); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: env("REDIS_ADDR", "127.0.0.1:6379")})
	defer rdb.Close()
	prefix := run + ":"
	defer cleanup(rdb, prefix)
	sized, err := canonicalSized(*n)
	if err != nil {
		return err
	}
	type loop struct {
		name string
		run  func() (time.Duration, error)
	}
	loops := []loop{
		{"plain kafka-go loop", func() (time.Duration, error) {
			return plainLoop(ctx, cfg, raw, plainOut, run+".plain-group", *n, *batch, nil, nil, "")
		}},
		{"plain, canonical-sized", func() (time.Duration, error) {
			return plainLoop(ctx, cfg, raw, plainOut, run+".plain-sized-group", *n, *batch, sized, nil, "")
		}},
		{"plain + Redis dedup", func() (time.Duration, error) {
			return plainLoop(ctx, cfg, raw, plainOut, run+".plain-dedup-group", *n, *batch, nil, rdb, prefix+"pd:")
		}},
		{"plain + dedup, canonical", func() (time.Duration, error) {
			return plainLoop(ctx, cfg, raw, plainOut, run+".plain-dedup-sized-group", *n, *batch, sized, rdb, prefix+"pds:")
		}},
		{"normalizer end-to-end", func() (time.Duration, error) {
			return normalizerLoop(ctx, cfg, rdb, raw, canon, dlq, run, *n, *batch, *workers, *withIndex)
		}},
	}
	rates := make([]float64, len(loops))
	fmt.Printf("records=%d partitions=%d batch=%d workers=%d index=%v\n", *n, *partitions, *batch, *workers, *withIndex)
	for i, l := range loops {
		before := redisCPU(ctx, rdb)
		took, err := l.run()
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		spent := redisCPU(ctx, rdb) - before
		rates[i] = float64(*n) / took.Seconds()
		fmt.Printf("%-26s %8.0f records/s (%s), Redis CPU %5.1f µs per record\n",
			l.name+":", rates[i], took.Round(time.Millisecond), spent.Seconds()*1e6/float64(*n))
	}
	nr := rates[len(rates)-1]
	fmt.Printf("ratio normalizer/plain: %.2f (vs canonical-sized plain: %.2f)\n", nr/rates[0], nr/rates[1])
	fmt.Printf("ratio normalizer/plain with Redis dedup: %.2f (vs canonical-sized: %.2f)\n", nr/rates[2], nr/rates[3])
	return nil
}

// redisCPU is the Redis server's CPU time so far (INFO cpu, user + system), or
// zero when it cannot be read.
func redisCPU(ctx context.Context, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// cleanup deletes the run's Redis keys, a batch per round trip.
func cleanup(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 5000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 5000 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
}

var profile, traceFile string

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func deleteTopics(brokers []string, topics ...string) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	_, _ = c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: topics})
}

func fill(ctx context.Context, cfg broker.Config, topic string, n int) error {
	w := broker.NewWriter(cfg, topic, nil, broker.WriterOptions{})
	defer w.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for start := 0; start < n; start += 5000 {
		msgs := make([]kafka.Message, 0, 5000)
		for i := start; i < min(start+5000, n); i++ {
			id := fmt.Sprintf("KOM-%08d", i)
			msgs = append(msgs, kafka.Message{
				Key:   []byte(id),
				Value: rawBody(id, i),
				// The headers the gateway writes (a request id makes the lookup
				// index write the webhook's entry, as in production).
				Headers: []kafka.Header{
					{Key: schemas.HeaderProvider, Value: []byte("komerce")},
					{Key: schemas.HeaderReceivedAt, Value: []byte(now)},
					{Key: schemas.HeaderRequestID, Value: []byte(uuid.NewString())},
					{Key: schemas.HeaderContentType, Value: []byte("application/json")},
					{Key: schemas.HeaderAuth, Value: []byte("header")},
				},
			})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("filling raw topic: %w", err)
		}
	}
	return nil
}

// plainLoop is the baseline: fetch a batch, write it, commit it. No mapping.
// With sized nil it writes each raw record as it is; otherwise record i
// (KOM-%08d) is written as sized[i], the canonical record the normalizer makes of
// it (same value, key and header bytes, so the same compression work), computed
// before the clock starts. With rdb set it dedups as the Benthos peer's
// normalizer does (../shared/peers/pipeline/benthos/b-normalize.yaml): per
// record a SET NX with the dedup TTL under dedupPrefix and its event id (the raw
// key for raw records), all of a batch in one pipelined round trip, and writes
// only the records whose SET took.
func plainLoop(ctx context.Context, cfg broker.Config, raw, out, group string, n, batch int, sized []kafka.Message,
	rdb *redis.Client, dedupPrefix string) (time.Duration, error) {
	r := broker.NewReader(cfg, group, []string{raw}, nil, broker.ReaderOptions{})
	defer r.Close()
	w := broker.NewWriter(cfg, out, nil, broker.WriterOptions{MaxAttempts: 1})
	defer w.Close()
	var start time.Time
	done := 0
	for done < n {
		msgs := make([]kafka.Message, 0, batch)
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return 0, err
		}
		if start.IsZero() {
			start = time.Now()
		}
		msgs = append(msgs, m)
		lctx, lcancel := context.WithTimeout(ctx, 5*time.Millisecond)
		for len(msgs) < batch {
			m, err := r.FetchMessage(lctx)
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		lcancel()
		outMsgs := make([]kafka.Message, len(msgs))
		for i, m := range msgs {
			outMsgs[i] = kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers}
			if sized != nil {
				k, err := strconv.Atoi(strings.TrimPrefix(string(m.Key), "KOM-"))
				if err != nil || k >= len(sized) {
					return 0, fmt.Errorf("unexpected raw key %q", m.Key)
				}
				outMsgs[i] = sized[k]
			}
		}
		if rdb != nil {
			var err error
			if outMsgs, err = dedupBatch(ctx, rdb, dedupPrefix, outMsgs); err != nil {
				return 0, err
			}
		}
		if err := w.WriteMessages(ctx, outMsgs...); err != nil {
			return 0, err
		}
		if err := r.CommitMessages(ctx, broker.LastPerPartition(msgs)...); err != nil {
			return 0, err
		}
		done += len(msgs)
	}
	return time.Since(start), nil
}

// dedupBatch keeps the records whose dedup key was not set yet, setting it.
func dedupBatch(ctx context.Context, rdb *redis.Client, prefix string, msgs []kafka.Message) ([]kafka.Message, error) {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.BoolCmd, len(msgs))
	for i, m := range msgs {
		id := string(m.Key)
		for _, h := range m.Headers {
			if h.Key == schemas.HeaderEventID {
				id = string(h.Value)
			}
		}
		cmds[i] = pipe.SetNX(ctx, prefix+id, "1", 168*time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	kept := msgs[:0]
	for i, m := range msgs {
		if cmds[i].Val() {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// canonicalSized returns, per raw record fill writes, the canonical record the
// normalizer produces for it (encoding/json gives the same bytes as the consumer).
func canonicalSized(n int) ([]kafka.Message, error) {
	out := make([]kafka.Message, n)
	now := time.Now().UTC()
	for i := range out {
		id := fmt.Sprintf("KOM-%08d", i)
		outs, err := adapter.Normalize(adapter.RawRecord{
			Provider: "komerce", Body: rawBody(id, i), ReceivedAt: now,
			Topic: "normbench.raw", Partition: i % 6, Offset: int64(i / 6),
		})
		if err != nil || len(outs) != 1 {
			return nil, fmt.Errorf("normalizing bench record: %v", err)
		}
		ev := outs[0].Event
		v, err := json.Marshal(&ev)
		if err != nil {
			return nil, err
		}
		out[i] = kafka.Message{Key: []byte(ev.Subject), Value: v, Headers: []kafka.Header{
			{Key: schemas.HeaderEventID, Value: []byte(ev.ID)},
			{Key: schemas.HeaderEventType, Value: []byte(ev.Type)},
			{Key: schemas.HeaderEventSource, Value: []byte(ev.Source)},
			{Key: schemas.HeaderEventContentType, Value: []byte(schemas.ContentTypeCloudEvents)},
			{Key: schemas.HeaderProvider, Value: []byte(ev.Data.Provider)},
			{Key: schemas.HeaderStatus, Value: []byte(ev.Data.Status)},
			{Key: schemas.HeaderAdvances, Value: []byte("true")},
			{Key: schemas.HeaderRawSource, Value: []byte(fmt.Sprintf("normbench.raw/%d/%d", i%6, i/6))},
		}}
	}
	return out, nil
}

func rawBody(id string, i int) []byte {
	return []byte(fmt.Sprintf(`{"order_no":%q,"cnote":"JNE%08d","status":"Dikirim"}`, id, i))
}

// countingFetcher notes when the first record was fetched.
type countingFetcher struct {
	*broker.GroupReader
	first chan<- struct{}
	once  bool
}

func (c *countingFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	m, err := c.GroupReader.FetchMessage(ctx)
	if err == nil && !c.once {
		c.once = true
		c.first <- struct{}{}
	}
	return m, err
}

func normalizerLoop(ctx context.Context, cfg broker.Config, rdb *redis.Client, raw, canon, dlq, run string, n, batch, workers int, withIndex bool) (time.Duration, error) {
	prefix := run + ":"
	var index *lookup.Index
	if withIndex {
		index = lookup.NewIndex(prefix, time.Hour, 0) // as the service: state TTL, default list length
	}
	w := app.NewEventWriter(cfg, canon, 10*time.Second, nil) // the normalizer's own writer
	defer w.Close()
	scanner := inflight.NewScanner(cfg.Brokers, canon, schemas.HeaderEventID, nil)
	if err := scanner.RefreshUntil(ctx); err != nil {
		return 0, err
	}
	metrics := consume.NewMetrics(nil)
	cctx, stop := context.WithCancel(ctx)
	var readers []*broker.GroupReader
	defer func() { // the consumers stop before their readers close
		stop()
		for _, r := range readers {
			_ = r.Close()
		}
	}()
	errc := make(chan error, workers)
	first := make(chan struct{}, workers)
	for i := range workers {
		// As in production (NORMALIZER_FETCH_LINGER's default).
		r, err := broker.NewGroupReader(cfg, run+".normalizer", []string{raw}, nil, broker.GroupReaderOptions{Linger: 2 * time.Millisecond})
		if err != nil {
			return 0, err
		}
		readers = append(readers, r)
		f := &countingFetcher{GroupReader: r, first: first}
		c, err := consume.New(consume.Config{
			CanonicalTopic: canon, DLQTopic: dlq, BatchSize: batch, Linger: 5 * time.Millisecond,
			Lease: 30 * time.Second, RedisTimeout: 3 * time.Second, CommitInterval: time.Second,
		}, consume.Deps{
			Fetcher: f, Producer: w, Redis: rdb,
			Dedup:    dedup.NewRedis(rdb, prefix, time.Hour),
			States:   state.NewRedis(rdb, prefix, time.Hour),
			Claims:   inflight.NewClaims(rdb, prefix, run+"."+strconv.Itoa(i), 30*time.Second, time.Hour),
			Recovery: scanner, Metrics: metrics, Index: index,
		})
		if err != nil {
			return 0, err
		}
		go func() { errc <- c.Run(cctx) }()
	}
	select {
	case <-first:
	case err := <-errc:
		return 0, err
	}
	for _, rec := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{{profile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {traceFile, trace.Start, trace.Stop}} {
		if rec.path == "" {
			continue
		}
		f, err := os.Create(rec.path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if err := rec.start(f); err != nil {
			return 0, err
		}
		defer rec.stop()
	}
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return 0, err
		case <-tick.C:
		}
		if processed(metrics) >= float64(n) {
			return time.Since(start), nil
		}
	}
}
