// Command dispatchbench measures the dispatcher against a real broker: deliveries
// per second to a local HTTP receiver and to a Kafka topic (backlog drained from
// a pre-filled canonical topic), and p99 dispatch latency (canonical event time
// to receiver) at a paced rate. It prints the figures; it asserts nothing.
//
//	KAFKA_BROKERS=127.0.0.1:9092 go run ./cmd/dispatchbench -n 20000 -rate 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/dispatcher/internal/app"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas/shipment"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func main() {
	n := flag.Int("n", 20000, "events for the throughput runs")
	rate := flag.Int("rate", 1000, "events per second for the latency run")
	secs := flag.Int("secs", 5, "duration of the latency run")
	flag.Parse()
	brokers := strings.Split(envOr("KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	if err := run(brokers, *n, *rate, *secs); err != nil {
		fmt.Fprintln(os.Stderr, "dispatchbench:", err)
		os.Exit(1)
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// receiver counts deliveries and records event-time-to-arrival latencies.
type receiver struct {
	mu   sync.Mutex
	lat  []time.Duration
	seen map[string]bool
	all  chan struct{}
	want int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var ev shipment.Event
	_ = json.NewDecoder(req.Body).Decode(&ev)
	now := time.Now()
	r.mu.Lock()
	if !r.seen[req.Header.Get("webhook-id")] {
		r.seen[req.Header.Get("webhook-id")] = true
		r.lat = append(r.lat, now.Sub(ev.Time))
		if len(r.seen) == r.want {
			close(r.all)
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func run(brokers []string, n, rate, secs int) error {
	ctx := context.Background()
	bcfg := broker.Config{Brokers: brokers, ClientID: "dispatchbench"}
	id := uuid.NewString()[:8]

	// 1. HTTP throughput: drain a backlog of n events.
	rc := &receiver{seen: map[string]bool{}, all: make(chan struct{}), want: n}
	url, stopSrv, err := serve(rc)
	if err != nil {
		return err
	}
	defer stopSrv()
	took, err := drain(ctx, bcfg, id+"-http", n, fmt.Sprintf("sinks:\n  hook: {kind: http, url: %q, secrets: [%s], concurrency: 32}\nroutes:\n  - {match: {always: true}, to: [hook]}\n", url, secret),
		func() { <-rc.all })
	if err != nil {
		return err
	}
	fmt.Printf("http:  %d deliveries in %s = %.0f deliveries/s (concurrency 32, local receiver)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())

	// 2. Kafka throughput.
	down := "bench." + id + ".down"
	if err := broker.EnsureTopics(ctx, brokers, broker.TopicSpec{Name: down, Partitions: 6}); err != nil {
		return err
	}
	time.Sleep(time.Second) // let the new topic get its leaders before timing starts
	took, err = drain(ctx, bcfg, id+"-kafka", n, fmt.Sprintf("sinks:\n  down: {kind: kafka, topic: %s, concurrency: 64}\nroutes:\n  - {match: {always: true}, to: [down]}\n", down),
		func() { waitCount(ctx, bcfg, down, n) })
	if err != nil {
		return err
	}
	fmt.Printf("kafka: %d deliveries in %s = %.0f deliveries/s (concurrency 64, acks=all)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())

	// 3. Latency at a paced rate: canonical event time -> receiver.
	total := rate * secs
	rl := &receiver{seen: map[string]bool{}, all: make(chan struct{}), want: total}
	latURL, stopLat, err := serve(rl)
	if err != nil {
		return err
	}
	defer stopLat()
	if err := paced(ctx, bcfg, id+"-lat", rate, secs, fmt.Sprintf("sinks:\n  hook: {kind: http, url: %q, secrets: [%s], concurrency: 16}\nroutes:\n  - {match: {always: true}, to: [hook]}\n", latURL, secret), rl); err != nil {
		return err
	}
	slices.Sort(rl.lat)
	q := func(p float64) time.Duration {
		return rl.lat[int(p*float64(len(rl.lat)-1))].Round(100 * time.Microsecond)
	}
	fmt.Printf("latency at %d events/s for %ds (%d events, produce -> receiver, incl. the producer's acks=all write): p50=%s p99=%s max=%s\n",
		rate, secs, len(rl.lat), q(0.5), q(0.99), q(1))
	return nil
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func config(bcfg broker.Config, name, routes string) (app.Config, func(), error) {
	dir, err := os.MkdirTemp("", "dispatchbench")
	if err != nil {
		return app.Config{}, nil, err
	}
	p := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(p, []byte(routes), 0o600); err != nil {
		return app.Config{}, nil, err
	}
	cfg := app.Config{Kafka: bcfg, RoutesFile: p, Topic: "bench." + name + ".canonical", Group: "bench." + name,
		RetryDelays: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}, RetryJitter: 0.1, RetryTopicPrefix: "bench." + name + ".retry.",
		DLQTopic: "bench." + name + ".dlq", CreateTopics: true, TopicPartitions: 6, MaxInFlight: 5000,
		CommitInterval: 200 * time.Millisecond, ShutdownTimeout: 10 * time.Second}
	err = broker.EnsureTopics(context.Background(), bcfg.Brokers, broker.TopicSpec{Name: cfg.Topic, Partitions: 6})
	return cfg, func() { _ = os.RemoveAll(dir) }, err
}

func events(n int, tag string) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		sid := fmt.Sprintf("S%d", i%500)
		ev := shipment.Event{SpecVersion: "1.0", ID: fmt.Sprintf("%s-%d", tag, i), Subject: shipment.Key("dash", sid), Time: time.Now(),
			Data: shipment.Data{Provider: "dash", ShipmentID: sid, Status: shipment.StatusInTransit, ServiceType: shipment.ServiceInstant}}
		b, _ := json.Marshal(ev)
		msgs[i] = kafka.Message{Key: []byte(ev.Subject), Value: b}
	}
	return msgs
}

// drain pre-fills the canonical topic with n events, then starts the dispatcher
// and times it until done() returns.
func drain(ctx context.Context, bcfg broker.Config, name string, n int, routes string, done func()) (time.Duration, error) {
	cfg, cleanup, err := config(bcfg, name, routes)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	w := broker.NewWriter(bcfg, cfg.Topic, nil, broker.WriterOptions{})
	if err := w.WriteMessages(ctx, events(n, name)...); err != nil {
		return 0, err
	}
	_ = w.Close()
	a, err := app.New(cfg, nil)
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	start := time.Now()
	go func() { errc <- a.Run(rctx) }()
	done()
	took := time.Since(start)
	cancel()
	return took, <-errc
}

func paced(ctx context.Context, bcfg broker.Config, name string, rate, secs int, routes string, rc *receiver) error {
	cfg, cleanup, err := config(bcfg, name, routes)
	if err != nil {
		return err
	}
	defer cleanup()
	a, err := app.New(cfg, nil)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	defer cancel()
	go func() { errc <- a.Run(rctx) }()
	time.Sleep(3 * time.Second) // let the group join before timing starts
	w := broker.NewWriter(bcfg, cfg.Topic, nil, broker.WriterOptions{})
	tick := time.NewTicker(10 * time.Millisecond)
	per := rate / 100
	for i := 0; i < rate*secs/per; i++ {
		<-tick.C
		if err := w.WriteMessages(ctx, events(per, fmt.Sprintf("%s-%d", name, i))...); err != nil {
			return err
		}
	}
	tick.Stop()
	_ = w.Close()
	select {
	case <-rc.all:
	case <-time.After(60 * time.Second):
	}
	cancel()
	return <-errc
}

func waitCount(ctx context.Context, bcfg broker.Config, topic string, n int) {
	for {
		conn, err := kafka.DialContext(ctx, "tcp", bcfg.Brokers[0])
		if err == nil {
			parts, _ := conn.ReadPartitions(topic)
			_ = conn.Close()
			var total int64
			for _, p := range parts {
				if lc, err := kafka.DialLeader(ctx, "tcp", bcfg.Brokers[0], topic, p.ID); err == nil {
					f, l, _ := lc.ReadOffsets()
					total += l - f
					_ = lc.Close()
				}
			}
			if total >= int64(n) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
