// Package broker builds segmentio/kafka-go writers and readers with the settings
// this pipeline depends on (acks=all, latency-tuned batching, explicit commits),
// creates topics, and adapts kafka-go's logging to zap. Producer (producer*.go)
// is the group-commit producer for many concurrent single-record writers (the
// gateway's raw topic); RecordRejected tells its permanent per-record errors
// apart; the normalizer writes its canonical records through it too.
// GroupReader (groupreader*.go) is the consumer-group reader of every service:
// one fetch request per broker for all its partitions, in an incremental fetch
// session. ListOffsets (offsets.go) reads offsets with one request per leader.
// Every producer here heals after a broker restart through one helper,
// ResetTransport (heal.go).
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Config is the connection configuration shared by every service.
type Config struct {
	Brokers  []string `env:"KAFKA_BROKERS" envSeparator:"," envDefault:"127.0.0.1:9092"`
	ClientID string   `env:"KAFKA_CLIENT_ID"`
	// Retention is retention.ms of the topics repair reads (the raw topic and
	// both dead-letter topics) when a service creates them: how far back
	// `normalizer redrive` and `renormalize` can reach. See RepairTopicConfig.
	Retention time.Duration `env:"KAFKA_REPAIR_RETENTION" envDefault:"720h"`
}

// TopicSpec describes a topic EnsureTopics creates when it is missing.
type TopicSpec struct {
	Name       string
	Partitions int
	// Config holds topic-level settings such as retention.ms.
	Config map[string]string
}

// EnsureTopics creates the topics that do not exist yet. Existing topics are left
// as they are (their partition count is not changed). Replication factor is -1:
// the broker's default.replication.factor decides, so the same code runs on a
// one-node dev broker and a three-node cluster.
func EnsureTopics(ctx context.Context, brokers []string, specs ...TopicSpec) error {
	if len(brokers) == 0 {
		return errors.New("ensuring topics: no brokers configured")
	}
	var dialer kafka.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("dialing kafka %s: %w", brokers[0], err)
	}
	defer conn.Close()
	controller, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("finding kafka controller: %w", err)
	}
	ctrl, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port)))
	if err != nil {
		return fmt.Errorf("dialing kafka controller: %w", err)
	}
	defer ctrl.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = ctrl.SetDeadline(dl)
	}
	cfgs := make([]kafka.TopicConfig, 0, len(specs))
	for _, s := range specs {
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: max(s.Partitions, 1), ReplicationFactor: -1}
		for k, v := range s.Config {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		cfgs = append(cfgs, tc)
	}
	// CreateTopics on one connection reports the first error; create one by one so an
	// existing topic does not hide a real failure on another.
	for _, tc := range cfgs {
		if err := ctrl.CreateTopics(tc); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", tc.Topic, err)
		}
	}
	return waitForLeaders(ctx, &dialer, brokers[0], specs)
}

// waitForLeaders returns once every topic in specs reports partitions that all have
// a leader. CreateTopics returns before that: a consumer group that joins in the
// gap gets an assignment without the new topic's partitions and, since the
// partition count then never changes, keeps consuming nothing (seen with the
// dispatcher's retry tiers).
func waitForLeaders(ctx context.Context, dialer *kafka.Dialer, addr string, specs []TopicSpec) error {
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	var last error
	for {
		if last = leadersReady(ctx, dialer, addr, names); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for leaders of %v: %w (last: %v)", names, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func leadersReady(ctx context.Context, dialer *kafka.Dialer, addr string, names []string) error {
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(names...)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, p := range parts {
		if p.Leader.Host == "" || p.Error != nil {
			return fmt.Errorf("topic %s partition %d has no leader yet", p.Topic, p.ID)
		}
		seen[p.Topic]++
	}
	for _, n := range names {
		if seen[n] == 0 {
			return fmt.Errorf("topic %s has no partitions yet", n)
		}
	}
	return nil
}

// WriterOptions tunes NewWriter. Zero values take the defaults documented per field.
type WriterOptions struct {
	// BatchTimeout bounds how long a partial batch waits. kafka-go's default is 1 s,
	// which every synchronous write would pay; 2 ms keeps a webhook ack fast while
	// still batching under load. Default 2 ms. See NoLinger.
	BatchTimeout time.Duration
	// NoLinger sends each WriteMessages call at once instead of waiting
	// BatchTimeout for more records: for a writer whose caller hands over whole
	// batches from one goroutine (the normalizer), where the wait could only add
	// latency. Each partition's share of one call still goes in one produce request
	// (up to BatchSize). Overrides BatchTimeout.
	NoLinger bool
	// BatchSize is the maximum records per batch. Default 1000.
	BatchSize int
	// WriteTimeout bounds one produce request. Default 10 s.
	WriteTimeout time.Duration
	// MaxAttempts is kafka-go's own retry count for a batch. Default 3.
	MaxAttempts int
	// Async makes WriteMessages return at once; only for fire-and-forget uses.
	Async bool
	// Compression codec; default snappy.
	Compression kafka.Compression
	// NoCompression disables compression (the zero value of Compression means "default").
	NoCompression bool
}

// NewWriter returns a writer with acks=all, the Murmur2 balancer (the Java client's
// default partitioner, so Java and Go producers put one key on the same partition),
// and latency-tuned batching. Topic may be empty when each message names its own.
func NewWriter(cfg Config, topic string, log *zap.Logger, opts WriterOptions) *kafka.Writer {
	if opts.BatchTimeout == 0 {
		opts.BatchTimeout = 2 * time.Millisecond
	}
	if opts.NoLinger {
		// kafka-go treats 0 as "1 s"; the smallest positive timeout fires as soon as
		// the call has added its records (it holds the partition's lock meanwhile).
		opts.BatchTimeout = time.Nanosecond
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 1000
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	comp := opts.Compression
	if comp == 0 && !opts.NoCompression {
		comp = kafka.Snappy
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: opts.BatchTimeout,
		BatchSize:    opts.BatchSize,
		BatchBytes:   8 << 20,
		WriteTimeout: opts.WriteTimeout,
		ReadTimeout:  opts.WriteTimeout,
		MaxAttempts:  opts.MaxAttempts,
		Async:        opts.Async,
		Compression:  comp,
		Transport:    newTransport(cfg),
		Logger:       DebugLogger(log),
		ErrorLogger:  ErrorLogger(log),
	}
	return w
}

// DefaultMaxWait is NewReader's default ReaderOptions.MaxWait.
const DefaultMaxWait = 2 * time.Second

// ReaderOptions tunes NewReader.
type ReaderOptions struct {
	// MaxWait bounds how long an idle fetch waits; with MinBytes 1 the broker
	// answers as soon as a record arrives, so it costs no latency. kafka-go asks the
	// broker to wait MaxWait minus an allowance of 1 s (MaxWait/4 below 1 s) and
	// gives up on the connection at MaxWait: with the former default of 100 ms the
	// allowance was 25 ms, and on a busy host a late answer timed the connection
	// out, so the partition stalled (redial, offsets, backoff: 100 ms+, seen as the
	// p99) and idle partitions polled 13 times a second. Default 2 s: the broker
	// holds an idle fetch 1 s and may answer up to 1 s late. Closing a reader or a
	// rebalance may wait for an idle fetch to come back (up to 1 s).
	MaxWait time.Duration
	// MaxBytes per fetch. Default 10 MiB.
	MaxBytes int
	// QueueCapacity is kafka-go's internal prefetch queue. Default 1000.
	QueueCapacity int
	// StartAtLatest starts a group with no committed offset at the end instead of
	// the beginning. Default false: a new group reads everything retained.
	StartAtLatest bool
	// SessionTimeout is how long the group coordinator waits for heartbeats before
	// it gives a dead member's partitions to the others: the pause after a crash.
	// Too low and a GC pause or a slow broker causes needless rebalances. Default
	// 10 s (heartbeats every 3 s; the broker's minimum is 6 s).
	SessionTimeout time.Duration
}

// NewReader returns a consumer-group reader that never commits on its own:
// CommitInterval is 0 and callers use FetchMessage + CommitMessages after what they
// derived from a record is durable (ReadMessage would commit before that).
func NewReader(cfg Config, group string, topics []string, log *zap.Logger, opts ReaderOptions) *kafka.Reader {
	if opts.MaxWait == 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 10 << 20
	}
	if opts.QueueCapacity == 0 {
		opts.QueueCapacity = 1000
	}
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 10 * time.Second
	}
	start := kafka.FirstOffset
	if opts.StartAtLatest {
		start = kafka.LastOffset
	}
	rc := kafka.ReaderConfig{
		Brokers:               cfg.Brokers,
		GroupID:               group,
		GroupTopics:           topics,
		MinBytes:              1,
		MaxBytes:              opts.MaxBytes,
		MaxWait:               opts.MaxWait,
		QueueCapacity:         opts.QueueCapacity,
		StartOffset:           start,
		CommitInterval:        0,
		HeartbeatInterval:     3 * time.Second,
		SessionTimeout:        opts.SessionTimeout,
		RebalanceTimeout:      30 * time.Second,
		JoinGroupBackoff:      time.Second,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        time.Second,
		WatchPartitionChanges: true,
		Dialer:                &kafka.Dialer{ClientID: clientID(cfg), Timeout: 10 * time.Second, DualStack: true},
		Logger:                DebugLogger(log),
		ErrorLogger:           ErrorLogger(log),
	}
	return kafka.NewReader(rc)
}

// newTransport is the connection pool of NewWriter and NewProducer: the
// configured client id, idle connections kept 5 minutes, metadata cached 15 s.
func newTransport(cfg Config) *kafka.Transport {
	return &kafka.Transport{ClientID: clientID(cfg), IdleTimeout: 5 * time.Minute, MetadataTTL: 15 * time.Second}
}

func clientID(cfg Config) string {
	if cfg.ClientID != "" {
		return cfg.ClientID
	}
	return "courierhook"
}

// DebugLogger routes kafka-go's chatty informational logs to zap at debug level.
func DebugLogger(log *zap.Logger) kafka.Logger {
	if log == nil {
		return nil
	}
	s := log.Named("kafka-go").Sugar()
	return kafka.LoggerFunc(func(msg string, args ...any) { s.Debugf(msg, args...) })
}

// ErrorLogger routes kafka-go's error logs to zap at warn level: kafka-go retries
// most of them itself, and the caller logs the error it finally returns. Read
// timeouts on idle fetches ("i/o timeout") and cancellations during shutdown are
// routine (kafka-go reconnects at once), so they go to debug instead of filling
// the log with warnings an operator cannot act on.
func ErrorLogger(log *zap.Logger) kafka.Logger {
	if log == nil {
		return nil
	}
	s := log.Named("kafka-go").Sugar()
	return kafka.LoggerFunc(func(msg string, args ...any) {
		text := fmt.Sprintf(msg, args...)
		if routine(text) {
			s.Debug(text)
			return
		}
		s.Warn(text)
	})
}

func routine(text string) bool {
	return strings.Contains(text, "i/o timeout") ||
		strings.Contains(text, "context canceled") ||
		strings.Contains(text, "use of closed network connection")
}

// Header returns the value of the first header named key, or nil.
func Header(m kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// LastPerPartition returns, for each topic-partition in msgs, the message with the
// highest offset: committing those commits everything before them, in one request.
func LastPerPartition(msgs []kafka.Message) []kafka.Message {
	type tp struct {
		topic string
		part  int
	}
	idx := map[tp]int{}
	out := make([]kafka.Message, 0, 4)
	for _, m := range msgs {
		k := tp{m.Topic, m.Partition}
		if i, ok := idx[k]; ok {
			if m.Offset > out[i].Offset {
				out[i] = m
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, m)
	}
	return out
}
