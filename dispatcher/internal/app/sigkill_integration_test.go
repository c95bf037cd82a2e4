package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// SIGKILL the dispatcher binary mid-stream and restart it: no destination misses
// an event. Duplicates are allowed (at-least-once) and identified by idempotency id.
func TestIntegrationSIGKILLNoDestinationMissesAnEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	rc := newReceiver(t)
	down := e.k.Topic(t, 3)
	e.routes(t, "sinks:\n"+httpSink("hook", rc.srv.URL, "")+
		"  down: {kind: kafka, topic: "+down+"}\n"+
		"routes:\n  - {match: {always: true}, to: [hook, down]}\n")

	bin := filepath.Join(t.TempDir(), "dispatcher")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/dispatcher")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	environ := append(os.Environ(),
		"KAFKA_BROKERS="+strings.Join(e.k.Brokers, ","),
		"DISPATCHER_ROUTES_FILE="+e.cfg.RoutesFile,
		"DISPATCHER_TOPIC="+e.canonical,
		"DISPATCHER_GROUP="+e.cfg.Group,
		"DISPATCHER_RETRY_DELAYS=100ms,200ms,300ms",
		"DISPATCHER_RETRY_TOPIC_PREFIX="+e.prefix,
		"DISPATCHER_DLQ_TOPIC="+e.dlq,
		"DISPATCHER_OPS_ADDR=127.0.0.1:0",
		"DISPATCHER_COMMIT_INTERVAL=100ms",
		"LOG_LEVEL=warn",
	)
	startProc := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = environ
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd
	}

	const n = 600
	var evs []shipment.Event
	for i := range n {
		evs = append(evs, makeEvent(t.Name(), i, shipment.StatusInTransit))
	}
	first := startProc()
	produce(t, e.k, e.canonical, evs[:n/2]...)
	require.Eventually(t, func() bool { return rc.unique() >= n/6 }, 60*time.Second, 5*time.Millisecond)
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_, _ = first.Process.Wait()
	killedAt := rc.unique()
	produce(t, e.k, e.canonical, evs[n/2:]...)

	second := startProc()
	require.Eventually(t, func() bool { return rc.unique() == n }, 90*time.Second, 50*time.Millisecond)
	var ids map[string]int
	require.Eventually(t, func() bool {
		ids = map[string]int{}
		for _, m := range e.k.ReadAll(t, down, n, 5*time.Second) {
			ids[string(broker.Header(m, sink.HeaderIdempotencyID))]++
		}
		return len(ids) == n
	}, 90*time.Second, 100*time.Millisecond)
	kafkaDups := 0
	for _, c := range ids {
		kafkaDups += c - 1
	}
	for _, ev := range evs {
		_, ok := ids[sink.IdempotencyID(ev.ID, "down")]
		require.True(t, ok, "kafka sink missed %s", ev.ID)
	}
	rc.mu.Lock()
	for _, ev := range evs {
		_, ok := rc.accepted[sink.IdempotencyID(ev.ID, "hook")]
		require.True(t, ok, "http sink missed %s", ev.ID)
	}
	require.Zero(t, rc.badSig)
	rc.mu.Unlock()
	t.Logf("SIGKILL after %d/%d http deliveries: every event reached both sinks; duplicates (same idempotency id): http=%d kafka=%d",
		killedAt, n, rc.duplicates(), kafkaDups)
	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Wait(), "graceful exit on SIGTERM")
}
