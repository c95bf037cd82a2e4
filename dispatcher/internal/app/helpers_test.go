package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/courierhook/pipeline/dispatcher/internal/app"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas/shipment"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a real local webhook receiver: it verifies Standard Webhooks
// signatures with the library's Verify and dedups on webhook-id.
type receiver struct {
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu        sync.Mutex
	failFirst int            // answer 503 to the first failFirst attempts of each id
	down      bool           // answer 503 to everything
	hang      chan struct{}  // when set, block until it is closed
	attempts  map[string]int // id -> attempts seen
	accepted  map[string]int // id -> 2xx answers given
	badSig    int
	events    map[string]string // id -> canonical event id, from the body
}

func newReceiver(t *testing.T) *receiver {
	wh, err := standardwebhooks.NewWebhook(testSecret)
	require.NoError(t, err)
	rc := &receiver{wh: wh, attempts: map[string]int{}, accepted: map[string]int{}, events: map[string]string{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(func() {
		rc.mu.Lock()
		if rc.hang != nil {
			close(rc.hang)
			rc.hang = nil
		}
		rc.mu.Unlock()
		rc.srv.Close()
	})
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	hang := rc.hang
	rc.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := rc.wh.Verify(body, r.Header); err != nil || r.Header.Get("Idempotency-Key") != r.Header.Get("webhook-id") {
		rc.mu.Lock()
		rc.badSig++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts[id]++
	if rc.down || rc.attempts[id] <= rc.failFirst {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev shipment.Event
	_ = json.Unmarshal(body, &ev)
	rc.events[id] = ev.ID
	rc.accepted[id]++
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) setDown(v bool) { rc.mu.Lock(); rc.down = v; rc.mu.Unlock() }

// unique is the number of distinct idempotency ids accepted.
func (rc *receiver) unique() int { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.accepted) }

// duplicates counts accepted deliveries beyond the first per id.
func (rc *receiver) duplicates() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, c := range rc.accepted {
		n += c - 1
	}
	return n
}

// env is one test's Kafka topics and dispatcher configuration.
type env struct {
	k         *testkit.KafkaEnv
	canonical string
	dlq       string
	prefix    string
	cfg       app.Config
}

func newEnv(t *testing.T, partitions int) *env {
	k := testkit.Kafka(t)
	e := &env{k: k, canonical: k.Topic(t, partitions), dlq: k.Topic(t, 1)}
	e.prefix = testkit.UniqueName(t, "retry") + "."
	e.cfg = app.Config{
		Kafka: k.Config(), Topic: e.canonical, Group: k.Group(t),
		RetryDelays: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond},
		RetryJitter: 0.2, RetryTopicPrefix: e.prefix, DLQTopic: e.dlq, CreateTopics: true, TopicPartitions: 2,
		MaxInFlight: 2000, CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 10 * time.Second,
	}
	t.Cleanup(func() {
		var topics []string
		for _, d := range e.cfg.RetryDelays {
			topics = append(topics, e.prefix+retryLabel(d))
		}
		c := &kafka.Client{Addr: kafka.TCP(k.Brokers...), Timeout: 10 * time.Second}
		_, _ = c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: topics})
	})
	return e
}

func retryLabel(d time.Duration) string { return fmt.Sprint(d) }

// routes writes a routes file and points the config at it.
func (e *env) routes(t *testing.T, yaml string) {
	p := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	e.cfg.RoutesFile = p
}

// start runs the dispatcher in-process until the test ends; stop drains it.
func (e *env) start(t *testing.T) (stop func() error) {
	a, err := app.New(e.cfg, zaptest.NewLogger(t).Named("dispatcher"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// makeEvent returns a canonical event i of shipment S<i%shipments>.
func makeEvent(run string, i int, status shipment.Status) shipment.Event {
	sid := fmt.Sprintf("S%d", i%7)
	return shipment.Event{
		SpecVersion: shipment.SpecVersion, ID: fmt.Sprintf("%s-%d", run, i), Source: shipment.Source("dash"),
		Type: shipment.EventType, Subject: shipment.Key("dash", sid), Time: time.Now().UTC(),
		DataContentType: shipment.DataContentType, DataSchema: shipment.DataSchemaURI, PartitionKey: shipment.Key("dash", sid),
		Data: shipment.Data{SchemaVersion: 1, Provider: "dash", ShipmentID: sid, ServiceType: shipment.ServiceInstant,
			Status: status, ProviderStatus: string(status), Advances: true, ReceivedAt: time.Now().UTC(),
			Destination: &shipment.Place{Name: "Siti", Phone: "+62812345", City: "Jakarta"}},
	}
}

// produce writes events to the canonical topic with the canonical key.
func produce(t *testing.T, k *testkit.KafkaEnv, topic string, evs ...shipment.Event) {
	w := broker.NewWriter(k.Config(), topic, nil, broker.WriterOptions{})
	defer w.Close()
	msgs := make([]kafka.Message, len(evs))
	for i, ev := range evs {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		msgs[i] = kafka.Message{Key: []byte(ev.Subject), Value: b}
	}
	require.Eventually(t, func() bool { return w.WriteMessages(t.Context(), msgs...) == nil }, 15*time.Second, 100*time.Millisecond)
}
