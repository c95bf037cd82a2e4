// Package testkit gives integration tests a real Kafka broker and a real Redis
// server, and gives each test its own topics, consumer group and key prefix so
// tests run in parallel.
//
// Where they come from, in order:
//  1. KAFKA_BROKERS / REDIS_ADDR (what `make test` sets, after starting them
//     itself when nothing runs; see scripts/with-infra.sh);
//  2. testcontainers-go, when a Docker engine answers;
//  3. otherwise the test fails when CI=true, and skips with the same message
//     elsewhere, so a laptop without infrastructure can still run unit tests.
//
// With -short (`make test-unit`) integration tests skip when nothing answers.
//
// An address that is set but does not answer always fails the test: a configured
// broker that is down is an error, not a reason to skip.
package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/testcontainers/testcontainers-go"
	tckafka "github.com/testcontainers/testcontainers-go/modules/kafka"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

	"github.com/courierhook/pipeline/platform/broker"
)

// Images used when testcontainers starts the infrastructure. The testcontainers
// Kafka module (v0.44) runs KRaft only on Confluent's packaging of Apache Kafka.
const (
	KafkaImage = "confluentinc/confluent-local:7.5.0"
	RedisImage = "redis:7-alpine"
)

const howToStart = "run the tests with `make test` (it starts both when none runs), or start them with `make infra-up` and export KAFKA_BROKERS=127.0.0.1:9092 REDIS_ADDR=127.0.0.1:6379, " +
	"or run where a Docker engine answers (testcontainers)"

// KafkaEnv is a reachable Kafka cluster for one test.
type KafkaEnv struct {
	Brokers []string
}

// Config returns the broker configuration the services take.
func (k *KafkaEnv) Config() broker.Config {
	return broker.Config{Brokers: k.Brokers, ClientID: "courierhook-test"}
}

// Topic creates a topic unique to this test with the given partition count
// (default 1) and returns its name.
func (k *KafkaEnv) Topic(t testing.TB, partitions ...int) string {
	t.Helper()
	p := 1
	if len(partitions) > 0 {
		p = partitions[0]
	}
	name := UniqueName(t, "topic")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := broker.EnsureTopics(ctx, k.Brokers, broker.TopicSpec{Name: name, Partitions: p}); err != nil {
		t.Fatalf("creating test topic %s: %v", name, err)
	}
	t.Cleanup(func() { k.deleteTopic(name) })
	return name
}

// Group returns a consumer-group id unique to this test.
func (k *KafkaEnv) Group(t testing.TB) string { return UniqueName(t, "group") }

func (k *KafkaEnv) deleteTopic(name string) {
	if os.Getenv("TESTKIT_KEEP_TOPICS") == "1" {
		return
	}
	c := &kafka.Client{Addr: kafka.TCP(k.Brokers...), Timeout: 10 * time.Second}
	_, _ = c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{name}})
}

// ReadAll reads every record of topic from the beginning (all partitions, no
// consumer group) until n records arrived or timeout passed, and returns them.
func (k *KafkaEnv) ReadAll(t testing.TB, topic string, n int, timeout time.Duration) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", k.Brokers[0])
	if err != nil {
		t.Fatalf("dialing kafka: %v", err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatalf("reading partitions of %s: %v", topic, err)
	}
	var (
		mu  sync.Mutex
		out []kafka.Message
		wg  sync.WaitGroup
	)
	done := make(chan struct{})
	var once sync.Once
	for _, p := range parts {
		wg.Add(1)
		go func(part int) {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: k.Brokers, Topic: topic, Partition: part, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				out = append(out, m)
				full := len(out) >= n
				mu.Unlock()
				if full {
					once.Do(func() { close(done) })
				}
			}
		}(p.ID)
	}
	select {
	case <-done:
		// Give the other partitions a moment so extra (unexpected) records show up too.
		time.Sleep(200 * time.Millisecond)
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	return out
}

// RedisEnv is a reachable Redis server for one test, with a key prefix of its own.
type RedisEnv struct {
	Addr   string
	Prefix string
	Client *redis.Client
}

var (
	kafkaOnce sync.Once
	kafkaAddr []string
	kafkaErr  error

	redisOnce sync.Once
	redisAddr string
	redisErr  error
)

// Kafka returns a reachable Kafka cluster or ends the test (see the package doc).
func Kafka(t testing.TB) *KafkaEnv {
	t.Helper()
	kafkaOnce.Do(func() { kafkaAddr, kafkaErr = resolveKafka() })
	if kafkaErr != nil {
		unavailable(t, "Kafka", kafkaErr)
	}
	return &KafkaEnv{Brokers: kafkaAddr}
}

// Redis returns a reachable Redis server or ends the test (see the package doc).
// Keys under the returned prefix are deleted when the test ends.
func Redis(t testing.TB) *RedisEnv {
	t.Helper()
	redisOnce.Do(func() { redisAddr, redisErr = resolveRedis() })
	if redisErr != nil {
		unavailable(t, "Redis", redisErr)
	}
	prefix := UniqueName(t, "test") + ":"
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return &RedisEnv{Addr: redisAddr, Prefix: prefix, Client: c}
}

// errNoInfra marks "nothing configured and no Docker": the only case that may skip.
type errNoInfra struct{ cause error }

func (e errNoInfra) Error() string { return e.cause.Error() }

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: integration test needs %s (%v)", what, err)
	}
	if _, ok := err.(errNoInfra); ok && os.Getenv("CI") != "true" {
		t.Skipf("no %s for integration tests (%v); %s", what, err, howToStart)
	}
	t.Fatalf("integration test needs a real %s and has none: %v; %s", what, err, howToStart)
}

func resolveKafka() ([]string, error) {
	if env := strings.TrimSpace(os.Getenv("KAFKA_BROKERS")); env != "" {
		brokers := strings.Split(env, ",")
		if err := dial(brokers[0]); err != nil {
			return nil, fmt.Errorf("KAFKA_BROKERS=%s does not answer: %w", env, err)
		}
		return brokers, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctr, err := tckafka.Run(ctx, KafkaImage, tckafka.WithClusterID("courierhook-test"))
	if err != nil {
		return nil, errNoInfra{fmt.Errorf("KAFKA_BROKERS is not set and testcontainers could not start %s: %w", KafkaImage, err)}
	}
	brokers, err := ctr.Brokers(ctx)
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return nil, fmt.Errorf("reading testcontainers kafka address: %w", err)
	}
	// The container lives until the test binary exits; testcontainers' reaper removes it.
	if err := broker.Probe(ctx, broker.Config{Brokers: brokers}); err != nil {
		return nil, err
	}
	return brokers, nil
}

func resolveRedis() (string, error) {
	if addr := strings.TrimSpace(os.Getenv("REDIS_ADDR")); addr != "" {
		if err := dial(addr); err != nil {
			return "", fmt.Errorf("REDIS_ADDR=%s does not answer: %w", addr, err)
		}
		return addr, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctr, err := tcredis.Run(ctx, RedisImage)
	if err != nil {
		return "", errNoInfra{fmt.Errorf("REDIS_ADDR is not set and testcontainers could not start %s: %w", RedisImage, err)}
	}
	uri, err := ctr.ConnectionString(ctx)
	if err != nil {
		return "", fmt.Errorf("reading testcontainers redis address: %w", err)
	}
	return strings.TrimPrefix(uri, "redis://"), nil
}

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// UniqueName returns "<kind>.<test name>.<random>", safe as a Kafka topic, group or
// Redis key part, and short enough for Kafka's 249-character limit.
func UniqueName(t testing.TB, kind string) string {
	name := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 120 {
		name = name[len(name)-120:]
	}
	return fmt.Sprintf("%s.%s.%s", kind, name, uuid.NewString()[:8])
}
