package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
)

// buildBinary builds this command once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "normalizer-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "normalizer")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// process is one normalizer subprocess.
type process struct {
	cmd *exec.Cmd
	ops string
	// done receives Wait's answer once; exited is closed after it.
	done   chan error
	exited chan struct{}
	log    *strings.Builder
}

// startNormalizer starts the service (`normalizer run`) with its ops listener on
// a free port.
func startNormalizer(t *testing.T, env []string) *process {
	t.Helper()
	ops := freeAddr(t)
	p := startProcess(t, append(env[:len(env):len(env)], "NORMALIZER_OPS_ADDR="+ops), "run")
	p.ops = ops
	return p
}

// startProcess starts the normalizer binary with args (a subcommand and its
// flags) and env added to this process's environment. It is killed when the test
// ends, and its output is logged if the test failed. Read p.log only after
// p.done answered.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	require.NoError(t, err)
	p := &process{done: make(chan error, 1), exited: make(chan struct{}), log: &strings.Builder{}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	require.NoError(t, p.cmd.Start())
	go func() {
		p.done <- p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited // its output is complete
		if t.Failed() {
			t.Logf("normalizer %s output:\n%s", strings.Join(args, " "), tail(p.log.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// canonicalCount sums the end offsets of topic.
func canonicalCount(ctx context.Context, brokers []string, topic string, partitions int) (int64, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	reqs := make([]kafka.OffsetRequest, partitions)
	for i := range reqs {
		reqs[i] = kafka.LastOffsetOf(i)
	}
	resp, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		n += p.LastOffset
	}
	return n, nil
}

func committedCount(ctx context.Context, brokers []string, group, topic string, partitions int) (int64, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range resp.Topics[topic] {
		if p.CommittedOffset > 0 {
			n += p.CommittedOffset
		}
	}
	return n, nil
}

// TestIntegrationNormalizer_sigkillMidStreamYieldsEveryEventExactlyOnce kills the
// normalizer with SIGKILL while it works through a stream of distinct webhooks,
// restarts it, and checks that the canonical topic holds every event exactly once
// (counted by CloudEvents id). Then SIGTERM drains and exits 0.
func TestIntegrationNormalizer_sigkillMidStreamYieldsEveryEventExactlyOnce(t *testing.T) {
	t.Parallel()
	const (
		total      = 2000
		partitions = 3
	)
	k, r := testkit.Kafka(t), testkit.Redis(t)
	raw, canon, dlq := k.Topic(t, partitions), k.Topic(t, partitions), k.Topic(t, 1)
	group := k.Group(t)
	env := []string{
		"KAFKA_BROKERS=" + strings.Join(k.Brokers, ","), "REDIS_ADDR=" + r.Addr,
		"NORMALIZER_RAW_TOPIC=" + raw, "NORMALIZER_CANONICAL_TOPIC=" + canon, "NORMALIZER_DLQ_TOPIC=" + dlq,
		"NORMALIZER_GROUP=" + group, "NORMALIZER_REDIS_PREFIX=" + r.Prefix, "NORMALIZER_CREATE_TOPICS=false",
		"NORMALIZER_BATCH_SIZE=50", "NORMALIZER_WRITE_TIMEOUT=2s", "NORMALIZER_INFLIGHT_LEASE=5s",
		"NORMALIZER_RETRY_MAX=1s", "LOG_LEVEL=warn",
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	w := broker.NewWriter(k.Config(), raw, nil, broker.WriterOptions{})
	defer w.Close()
	// The stream is written in chunks while the first process runs, so the kill lands
	// mid-stream whatever the machine's speed.
	written := make(chan error, 1)
	feed := func(from, to int) error {
		for start := from; start < to; start += 50 {
			msgs := make([]kafka.Message, 0, 50)
			for i := start; i < min(start+50, to); i++ {
				id := fmt.Sprintf("KOM-%05d", i)
				msgs = append(msgs, kafka.Message{
					Key:   []byte(id),
					Value: []byte(fmt.Sprintf(`{"order_no":%q,"cnote":"JNE%d","status":"Dikirim"}`, id, i)),
					Headers: []kafka.Header{
						{Key: schemas.HeaderProvider, Value: []byte("komerce")},
						{Key: schemas.HeaderReceivedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
					},
				})
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				return err
			}
		}
		return nil
	}
	require.NoError(t, feed(0, total/4))
	first := startNormalizer(t, env)
	go func() { written <- feed(total/4, total) }()

	require.Eventually(t, func() bool {
		n, err := canonicalCount(ctx, k.Brokers, canon, partitions)
		return err == nil && n >= total/5
	}, 60*time.Second, 2*time.Millisecond, "first process produced nothing")
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	<-first.done
	atKill, err := canonicalCount(ctx, k.Brokers, canon, partitions)
	require.NoError(t, err)
	t.Logf("killed with %d canonical records written", atKill)
	require.NoError(t, <-written)

	second := startNormalizer(t, env)
	require.Eventually(t, func() bool {
		n, err := committedCount(ctx, k.Brokers, group, raw, partitions)
		return err == nil && n == total
	}, 150*time.Second, 50*time.Millisecond, "restarted normalizer did not commit the whole stream")

	resp, err := http.Get("http://" + second.ops + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	msgs := k.ReadAll(t, canon, total, 60*time.Second)
	ids := map[string]int{}
	for _, m := range msgs {
		ids[string(broker.Header(m, schemas.HeaderEventID))]++
	}
	dups := 0
	for _, n := range ids {
		if n > 1 {
			dups += n - 1
		}
	}
	assert.Equal(t, 0, dups, "duplicate canonical events")
	assert.Len(t, ids, total, "distinct canonical events")
	assert.Len(t, msgs, total, "canonical records")

	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-second.done:
		assert.NoError(t, err, "SIGTERM drains and exits 0")
	case <-ctx.Done():
		t.Fatal("normalizer did not exit after SIGTERM")
	}
}
