// Command loadgen drives the gateway with the seed payloads and valid
// credentials, at a fixed rate (-rate) or as fast as -concurrency workers go,
// and prints throughput, ack latency percentiles and non-2xx counts.
//
//	loadgen -url http://127.0.0.1:8080 -rate 1000 -duration 20s
//	loadgen -url http://127.0.0.1:8080 -concurrency 64 -duration 20s -gzip -pid $(pgrep -n gateway)
//
// Credentials come from the same GATEWAY_<NAME>_* variables the gateway reads
// (provider.SecretsFromEnv), and each request is built and signed by the
// gateway's provider table (provider.NewRequest): a new table row needs no
// code here.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/gateway/internal/provider"
	"github.com/courierhook/pipeline/schemas/providers/seed"
)

type payload struct {
	method, path string
	header       http.Header
	body         []byte
}

func main() {
	var (
		base        = flag.String("url", "http://127.0.0.1:8080", "gateway base URL")
		rate        = flag.Int("rate", 0, "requests per second (0: as fast as -concurrency allows)")
		duration    = flag.Duration("duration", 10*time.Second, "how long to send")
		concurrency = flag.Int("concurrency", 64, "workers (and connections)")
		gz          = flag.Bool("gzip", false, "send Accept-Encoding: gzip")
		seeds       = flag.String("seeds", "", "directory of <provider>/*.json payloads (default: the embedded seed payloads of schemas/providers/seed)")
		pid         = flag.Int("pid", 0, "gateway pid: print its peak RSS (VmHWM) at the end")
		deleteTopic = flag.String("delete-topic", "", "delete this Kafka topic (comma-separated list) on KAFKA_BROKERS and exit (bench cleanup)")
	)
	flag.Parse()
	if *deleteTopic != "" {
		if err := deleteTopics(strings.Split(*deleteTopic, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: deleting topics:", err)
			os.Exit(1)
		}
		return
	}
	payloads, err := load(*base, *seeds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	res := drive(payloads, *rate, *duration, *concurrency, *gz)
	res.print(os.Stdout, *rate, *concurrency, *gz)
	if *pid > 0 {
		fmt.Printf("gateway peak RSS (VmHWM): %s\n", vmHWM(*pid))
	}
}

// load reads <provider>/*.json from dir, or from the embedded seed payloads when
// dir is empty, and builds each request with valid credentials.
func load(base, dir string) ([]payload, error) {
	fsys := seed.FS()
	if dir != "" {
		fsys = os.DirFS(dir)
	}
	files, err := fs.Glob(fsys, "*/*.json")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no payloads under %q (-seeds)", dir)
	}
	// The same variables the gateway reads, one set per row of its provider table.
	secrets, err := provider.SecretsFromEnv(nil)
	if err != nil {
		return nil, err
	}
	var out []payload
	for _, f := range files {
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		name := path.Dir(f)
		req, err := provider.NewRequest(context.Background(), base, name, body, secrets[name])
		if errors.Is(err, provider.ErrUnknownProvider) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p := payload{method: req.Method, path: req.URL.String(), header: req.Header, body: body}
		p.header.Set("User-Agent", "courierhook-loadgen")
		out = append(out, p)
	}
	return out, nil
}

type result struct {
	elapsed   time.Duration
	latencies []time.Duration
	status    map[int]int
	errors    int
}

func drive(payloads []payload, rate int, d time.Duration, conc int, gz bool) result {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()

	// With -rate, a pacer hands out send slots; workers block on it.
	var slots chan struct{}
	if rate > 0 {
		slots = make(chan struct{}, conc)
		go func() {
			interval := time.Second / time.Duration(rate)
			next := time.Now()
			for {
				next = next.Add(interval)
				if wait := time.Until(next); wait > 0 {
					time.Sleep(wait)
				}
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					close(slots)
					return
				}
			}
		}()
	}
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	all.status = map[int]int{}
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			status := map[int]int{}
			errs := 0
			for i := w; ; i++ {
				if slots != nil {
					if _, ok := <-slots; !ok {
						break
					}
				} else if ctx.Err() != nil {
					break
				}
				p := payloads[i%len(payloads)]
				req, _ := http.NewRequest(p.method, p.path, bytes.NewReader(p.body))
				req.Header = p.header.Clone()
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(t0))
				status[res.StatusCode]++
			}
			mu.Lock()
			all.latencies = append(all.latencies, lat...)
			for k, v := range status {
				all.status[k] += v
			}
			all.errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	return all
}

func (r result) print(w io.Writer, rate, conc int, gz bool) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*p))]
	}
	mode := fmt.Sprintf("max (concurrency %d)", conc)
	if rate > 0 {
		mode = fmt.Sprintf("rate %d/s (concurrency %d)", rate, conc)
	}
	n := len(r.latencies)
	fmt.Fprintf(w, "mode: %s gzip=%v\n", mode, gz)
	fmt.Fprintf(w, "requests: %d in %s = %.0f req/s\n", n, r.elapsed.Round(time.Millisecond), float64(n)/r.elapsed.Seconds())
	fmt.Fprintf(w, "ack latency: p50=%s p95=%s p99=%s max=%s\n", pct(.50), pct(.95), pct(.99), pct(1))
	var codes []int
	non2xx := 0
	for c, v := range r.status {
		codes = append(codes, c)
		if c < 200 || c > 299 {
			non2xx += v
		}
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d=%d", c, r.status[c]))
	}
	fmt.Fprintf(w, "status: %s non-2xx=%d transport-errors=%d\n", strings.Join(parts, " "), non2xx, r.errors)
}

// deleteTopics removes the benchmark's topics so repeated runs leave nothing behind.
func deleteTopics(topics []string) error {
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	c := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Timeout: 10 * time.Second}
	res, err := c.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		return err
	}
	for t, err := range res.Errors {
		if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

func vmHWM(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

// first is the first secret of a comma-separated list (the gateway accepts
// several during a rotation; the load tool signs with the newest).
