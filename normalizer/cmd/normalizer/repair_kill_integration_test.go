package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/repair"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// The tests below kill `normalizer redrive` and `normalizer renormalize` with
// SIGKILL half way, as a crash or an OOM kill would, and run them again: the
// in-process tests of internal/repair simulate the kill with a producer that
// fails; these kill the real process. NORMALIZER_REPAIR_BATCH (repair.go) makes
// the batches small, so a run takes many batches and the kill lands between two.

// repairKillBatch is the records per batch of the killed runs.
const repairKillBatch = 5

// killTimeout bounds a whole test: generous, for a slow 2-core CI machine.
const killTimeout = 4 * time.Minute

// repairTestEnv is the environment of the normalizer subprocesses of one test:
// its topics, consumer group and Redis prefix, and small repair batches.
// repairTestSetup gives a test its own raw, canonical and DLQ topics, consumer
// group and Redis prefix, and the environment naming them (repairTestEnv).
func repairTestSetup(t *testing.T, partitions int) (k *testkit.KafkaEnv, r *testkit.RedisEnv, raw, canon, dlq, group string, env []string) {
	t.Helper()
	k, r = testkit.Kafka(t), testkit.Redis(t)
	raw, canon, dlq = k.Topic(t, partitions), k.Topic(t, partitions), k.Topic(t, 1)
	group = k.Group(t)
	return k, r, raw, canon, dlq, group, repairTestEnv(k, r, raw, canon, dlq, group)
}

func repairTestEnv(k *testkit.KafkaEnv, r *testkit.RedisEnv, raw, canon, dlq, group string) []string {
	return []string{
		"KAFKA_BROKERS=" + strings.Join(k.Brokers, ","), "REDIS_ADDR=" + r.Addr,
		"NORMALIZER_RAW_TOPIC=" + raw, "NORMALIZER_CANONICAL_TOPIC=" + canon, "NORMALIZER_DLQ_TOPIC=" + dlq,
		"NORMALIZER_GROUP=" + group, "NORMALIZER_REDIS_PREFIX=" + r.Prefix, "NORMALIZER_CREATE_TOPICS=false",
		"NORMALIZER_BATCH_SIZE=50", "NORMALIZER_WRITE_TIMEOUT=2s", "NORMALIZER_INFLIGHT_LEASE=5s",
		"NORMALIZER_RETRY_MAX=1s", "LOG_LEVEL=warn",
		repairBatchEnv + "=" + strconv.Itoa(repairKillBatch),
	}
}

// runRepair runs a repair command to its end, requires exit 0, and returns the
// counts of its last progress line.
func runRepair(ctx context.Context, t *testing.T, env []string, args ...string) map[string]int {
	t.Helper()
	start := time.Now()
	p := startProcess(t, env, args...)
	select {
	case err := <-p.done:
		require.NoError(t, err, "normalizer %s:\n%s", strings.Join(args, " "), tail(p.log.String(), 4000))
	case <-ctx.Done():
		t.Fatalf("normalizer %s did not finish", strings.Join(args, " "))
	}
	t.Logf("normalizer %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), tail(p.log.String(), 1000))
	return lastCounts(t, p.log.String())
}

var countField = regexp.MustCompile(`(\w+)=(\d+)`)

// lastCounts parses the key=value counts of the last progress line in out
// ("100% 1,000/1,000  read=1000  selected=1000  redriven=950 ...").
func lastCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(lines[i], " read=") {
			continue
		}
		counts := map[string]int{}
		for _, m := range countField.FindAllStringSubmatch(lines[i], -1) {
			counts[m[1]], _ = strconv.Atoi(m[2])
		}
		return counts
	}
	t.Fatalf("no progress line in:\n%s", out)
	return nil
}

// killWhen polls cut (every 2 ms, no sleep-and-hope) until it reports that p is
// part way through its work, then kills p with SIGKILL and waits for it to die.
// It fails the test if p ends on its own first: the run was too fast to be cut.
func killWhen(ctx context.Context, t *testing.T, p *process, cut func() bool) {
	t.Helper()
	for !cut() {
		select {
		case err := <-p.done:
			t.Fatalf("the run ended (%v) before it could be killed half way:\n%s", err, tail(p.log.String(), 4000))
		case <-ctx.Done():
			t.Fatal("the run made no progress")
		case <-time.After(2 * time.Millisecond):
		}
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL), "the run ended before the kill")
	var exit *exec.ExitError
	require.True(t, errors.As(<-p.done, &exit), "the process was killed, not done")
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL: %v", exit)
}

// komerceBody is a Komerce push for order id with status.
func komerceBody(id string, i int, status string) []byte {
	return []byte(fmt.Sprintf(`{"order_no":%q,"cnote":"JNE%05d","status":%q}`, id, i, status))
}

// komerceRaw is a Komerce webhook as the gateway writes it to the raw topic.
func komerceRaw(id string, i int, status, requestID string) kafka.Message {
	return kafka.Message{Key: []byte(id), Value: komerceBody(id, i, status), Headers: []kafka.Header{
		{Key: schemas.HeaderProvider, Value: []byte("komerce")},
		{Key: schemas.HeaderRequestID, Value: []byte(requestID)},
		{Key: schemas.HeaderReceivedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		{Key: schemas.HeaderAuth, Value: []byte("bearer")},
	}}
}

// deadLettered is raw as the live normalizer dead-letters it (consume's
// deadLetter: the raw record byte-exact plus the dlq_* headers) when its
// adapter had no mapping for the status.
func deadLettered(raw kafka.Message, rawTopic string, offset int, status string) kafka.Message {
	h := append(raw.Headers[:len(raw.Headers):len(raw.Headers)],
		kafka.Header{Key: schemas.HeaderDLQReason, Value: []byte(adapter.ReasonUnsupportedShape)},
		kafka.Header{Key: schemas.HeaderDLQError, Value: []byte(fmt.Sprintf("komerce: no mapping for status %q", status))},
		kafka.Header{Key: schemas.HeaderDLQSource, Value: []byte(fmt.Sprintf("%s/0/%d", rawTopic, offset))},
		kafka.Header{Key: schemas.HeaderDLQAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		kafka.Header{Key: schemas.HeaderDLQService, Value: []byte("normalizer")},
	)
	return kafka.Message{Key: raw.Key, Value: raw.Value, Headers: h}
}

// TestIntegrationRedrive_SIGKILLHalfWayThenRerunEachEventOnce: 1,000 Komerce
// webhooks were dead-lettered by an adapter that lacked their statuses' mappings;
// this build maps them. `normalizer redrive` is SIGKILLed after some but not all
// were redriven, run again to its end (it sends exactly those not recorded as
// redriven), and a third run sends nothing. The normalizer service then turns the
// raw topic (the killed run's last batch possibly twice) into exactly one event
// per webhook, with the current mapping.
func TestIntegrationRedrive_SIGKILLHalfWayThenRerunEachEventOnce(t *testing.T) {
	t.Parallel()
	const (
		total      = 1000
		partitions = 3
	)
	k, r, raw, canon, dlq, group, env := repairTestSetup(t, partitions)
	ctx, cancel := context.WithTimeout(t.Context(), killTimeout)
	defer cancel()

	statuses := []string{"Dikirim", "Hilang", "Selesai"}
	want := map[string]shipment.Status{"Dikirim": shipment.StatusInTransit, "Hilang": shipment.StatusException, "Selesai": shipment.StatusDelivered}
	letters := make([]kafka.Message, total)
	orders := map[string]string{} // order id -> provider status
	for i := range letters {
		id, st := fmt.Sprintf("KOM-R%05d", i), statuses[i%len(statuses)]
		orders[id] = st
		letters[i] = deadLettered(komerceRaw(id, i, st, fmt.Sprintf("req-%05d", i)), raw, i, st)
	}
	w := broker.NewWriter(k.Config(), dlq, nil, broker.WriterOptions{})
	require.NoError(t, w.WriteMessages(ctx, letters...))
	require.NoError(t, w.Close())
	n, err := canonicalCount(ctx, k.Brokers, dlq, 1)
	require.NoError(t, err)
	require.EqualValues(t, total, n, "the dead letters are at offsets 0..total-1")

	// A dead letter is recorded as redriven by its mark, rd:<dlq>/<partition>/<offset>.
	marks := make([]string, total)
	for i := range marks {
		marks[i] = r.Prefix + "rd:" + lookup.Location{Topic: dlq, Offset: int64(i)}.String()
	}
	marked := func() int {
		n, err := r.Client.Exists(ctx, marks...).Result()
		require.NoError(t, err)
		return int(n)
	}

	killed := startProcess(t, env, "redrive")
	killWhen(ctx, t, killed, func() bool { return marked() >= total/20 })
	atKill := marked()
	rawAtKill, err := canonicalCount(ctx, k.Brokers, raw, partitions)
	require.NoError(t, err)
	t.Logf("redrive killed with %d of %d dead letters recorded as redriven, %d raw records written", atKill, total, rawAtKill)
	require.Positive(t, atKill)
	require.Less(t, atKill, total, "the redrive was cut half way")
	assert.GreaterOrEqual(t, rawAtKill, int64(atKill), "a dead letter is recorded only after its raw copy is acknowledged")
	assert.LessOrEqual(t, rawAtKill-int64(atKill), int64(repairKillBatch), "at most the batch in flight was sent and not recorded")

	n2 := runRepair(ctx, t, env, "redrive")
	assert.Equal(t, total, n2["read"])
	assert.Equal(t, atKill, n2["already_redriven"], "what the killed run recorded is not sent again")
	assert.Equal(t, total-atKill, n2["redriven"], "the rest is sent, the unrecorded batch in flight included")
	assert.Equal(t, 0, n2["still_dead"], "every dead letter maps with this build's adapters")
	assert.Equal(t, total, marked())

	rawBefore, err := canonicalCount(ctx, k.Brokers, raw, partitions)
	require.NoError(t, err)
	n3 := runRepair(ctx, t, env, "redrive")
	assert.Equal(t, total, n3["already_redriven"], "a third run finds everything redriven")
	assert.Equal(t, 0, n3["redriven"], "and sends nothing")
	rawTotal, err := canonicalCount(ctx, k.Brokers, raw, partitions)
	require.NoError(t, err)
	assert.Equal(t, rawBefore, rawTotal, "the third run wrote no raw record")
	t.Logf("raw topic: %d records for %d dead letters", rawTotal, total)

	// The live normalizer (this build) consumes the raw topic until it is drained.
	live := startNormalizer(t, env)
	require.Eventually(t, func() bool {
		n, err := committedCount(ctx, k.Brokers, group, raw, partitions)
		return err == nil && n == rawTotal
	}, 150*time.Second, 50*time.Millisecond, "the normalizer did not commit the whole raw topic")
	n, err = canonicalCount(ctx, k.Brokers, canon, partitions)
	require.NoError(t, err)
	assert.EqualValues(t, total, n, "canonical records: one per webhook")

	msgs := k.ReadAll(t, canon, int(n), 60*time.Second)
	require.Len(t, msgs, int(n))
	byID, byOrder := map[string]int{}, map[string]int{}
	for _, m := range msgs {
		var ev shipment.Event
		require.NoError(t, json.Unmarshal(m.Value, &ev))
		require.Equal(t, ev.ID, string(broker.Header(m, schemas.HeaderEventID)))
		byID[ev.ID]++
		byOrder[ev.Data.OrderID]++
		st, ok := orders[ev.Data.OrderID]
		if assert.True(t, ok, "event for an unknown order %q", ev.Data.OrderID) {
			assert.Equal(t, want[st], ev.Data.Status, "order %s is mapped with the added mapping", ev.Data.OrderID)
		}
	}
	dups := 0
	for _, c := range byID {
		dups += c - 1
	}
	assert.Equal(t, 0, dups, "duplicate canonical events")
	assert.Len(t, byID, total, "distinct canonical events")
	var notOnce []string
	for id := range orders {
		if byOrder[id] != 1 {
			notOnce = append(notOnce, fmt.Sprintf("%s:%d", id, byOrder[id]))
		}
	}
	assert.Empty(t, notOnce, "orders without exactly one event (order:events)")

	require.NoError(t, live.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-live.done:
		assert.NoError(t, err, "SIGTERM drains and exits 0")
	case <-ctx.Done():
		t.Fatal("normalizer did not exit after SIGTERM")
	}
}

// beforeFix is the Komerce adapter as it was before its "Hilang" (lost) row was
// added: the status was unknown.
func beforeFix(rec adapter.RawRecord) ([]adapter.Output, error) {
	outs, err := adapter.Normalize(rec)
	for i := range outs {
		if d := &outs[i].Event.Data; d.ProviderStatus == "Hilang" {
			d.Status, d.SubStatus, d.Terminal = shipment.StatusUnknown, shipment.SubUnknownUnmapped, false
		}
	}
	return outs, err
}

// runLive runs the normalizer's consumer in this process, as the service wires
// it (dedup, state, claims, lookup index) but with normalize as its adapters,
// until the group has committed the whole raw topic; then it stops it. It is how
// an older build, whose adapter lacked a mapping, produced its canonical events.
func runLive(ctx context.Context, t *testing.T, k *testkit.KafkaEnv, r *testkit.RedisEnv,
	raw, canon, dlq, group string, partitions int, normalize consume.NormalizeFunc) {
	t.Helper()
	reader := broker.NewReader(k.Config(), group, []string{raw}, nil, broker.ReaderOptions{})
	defer reader.Close()
	w := broker.NewWriter(k.Config(), "", nil, broker.WriterOptions{MaxAttempts: 1})
	defer w.Close()
	scanner := inflight.NewScanner(k.Brokers, canon, schemas.HeaderEventID, nil)
	require.Eventually(t, func() bool { return scanner.Refresh(ctx) == nil }, 30*time.Second, 50*time.Millisecond)
	c, err := consume.New(consume.Config{
		CanonicalTopic: canon, DLQTopic: dlq, BatchSize: 50, Linger: 5 * time.Millisecond,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, RedisTimeout: time.Second,
		Lease: 30 * time.Second, DrainTimeout: 10 * time.Second,
	}, consume.Deps{
		Fetcher: reader, Producer: w, Redis: r.Client,
		Dedup:    dedup.NewRedis(r.Client, r.Prefix, time.Hour),
		States:   state.NewRedis(r.Client, r.Prefix, time.Hour),
		Claims:   inflight.NewClaims(r.Client, r.Prefix, testkit.UniqueName(t, "owner"), 30*time.Second, time.Hour),
		Recovery: scanner, Metrics: consume.NewMetrics(prometheus.NewRegistry()), Log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Normalize: normalize, Index: lookup.NewIndex(r.Prefix, time.Hour, 0),
	})
	require.NoError(t, err)
	rawTotal, err := canonicalCount(ctx, k.Brokers, raw, partitions)
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() { defer wg.Done(); runErr = c.Run(cctx) }()
	assert.Eventually(t, func() bool {
		n, err := committedCount(ctx, k.Brokers, group, raw, partitions)
		return err == nil && n == rawTotal
	}, 120*time.Second, 50*time.Millisecond, "the old build did not commit the whole raw topic")
	cancel()
	wg.Wait()
	require.NoError(t, runErr)
}

// TestIntegrationRenormalize_SIGKILLHalfWayThenResume: 500 Komerce shipments
// (1,000 webhooks) went through a normalizer whose adapter mapped "Hilang" (lost)
// to unknown; this build maps it to exception. `normalizer renormalize` over the
// range is SIGKILLed half way and run again: the second run resumes from the
// checkpoint (it reads exactly the records after it), and the canonical topic
// then holds exactly one correction per unknown event (its own id, data.corrects
// naming it, the new mapping) and nothing else; a correction appears twice only
// if its raw record was in the batch in flight at the kill (produced, not yet
// checkpointed: at least once). A third run reads nothing.
func TestIntegrationRenormalize_SIGKILLHalfWayThenResume(t *testing.T) {
	t.Parallel()
	const (
		shipments  = 500
		records    = 2 * shipments
		partitions = 3
	)
	k, r, raw, canon, dlq, group, env := repairTestSetup(t, partitions)
	ctx, cancel := context.WithTimeout(t.Context(), killTimeout)
	defer cancel()

	since := time.Now().Add(-time.Second).UTC()
	msgs := make([]kafka.Message, 0, records)
	for i := range shipments {
		id, second := fmt.Sprintf("KOM-N%05d", i), "Dikirim"
		if i%4 == 0 {
			second = "Hilang"
		}
		msgs = append(msgs, komerceRaw(id, i, "Dijemput", fmt.Sprintf("req-%05d-1", i)),
			komerceRaw(id, i, second, fmt.Sprintf("req-%05d-2", i)))
	}
	w := broker.NewWriter(k.Config(), raw, nil, broker.WriterOptions{})
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())

	runLive(ctx, t, k, r, raw, canon, dlq, group, partitions, beforeFix)
	n, err := canonicalCount(ctx, k.Brokers, canon, partitions)
	require.NoError(t, err)
	require.EqualValues(t, records, n, "the old build produced one event per webhook")
	originals := map[string]bool{}
	unknown := map[string]bool{}
	for _, m := range k.ReadAll(t, canon, records, 60*time.Second) {
		var ev shipment.Event
		require.NoError(t, json.Unmarshal(m.Value, &ev))
		originals[ev.ID] = true
		if ev.Data.Status == shipment.StatusUnknown {
			unknown[ev.ID] = true
		}
	}
	require.Len(t, originals, records)
	require.Len(t, unknown, shipments/4, "every lost shipment's second event was unknown")

	// The run's checkpoint is the hash rn:<range> of next offsets per partition;
	// a dry-run renormalizer over the same range names it.
	args := []string{"renormalize", "--since", since.Format(time.RFC3339Nano)}
	same, err := repair.NewRenormalizer(repair.RenormalizeConfig{RawTopic: raw, CanonicalTopic: canon, Since: since, DryRun: true},
		k.Brokers, repair.RenormalizeDeps{Redis: r.Client, Prefix: r.Prefix, Store: lookup.NewStore(r.Client, r.Prefix),
			Dedup: dedup.NewRedis(r.Client, r.Prefix, time.Hour), States: state.NewRedis(r.Client, r.Prefix, time.Hour)})
	require.NoError(t, err)
	checkpointKey := same.CheckpointKey()
	checkpoint := func() map[int]int64 {
		h, err := r.Client.HGetAll(ctx, checkpointKey).Result()
		require.NoError(t, err)
		cp := map[int]int64{}
		for p, v := range h {
			pi, err1 := strconv.Atoi(p)
			off, err2 := strconv.ParseInt(v, 10, 64)
			require.NoError(t, errors.Join(err1, err2))
			cp[pi] = off
		}
		return cp
	}
	sum := func(cp map[int]int64) (n int64) {
		for _, off := range cp {
			n += off
		}
		return n
	}

	killed := startProcess(t, env, args...)
	killWhen(ctx, t, killed, func() bool { return sum(checkpoint()) >= records/20 })
	cp := checkpoint()
	done := sum(cp)
	atKill, err := canonicalCount(ctx, k.Brokers, canon, partitions)
	require.NoError(t, err)
	t.Logf("renormalize killed at checkpoint %v (%d of %d records), %d corrections written", cp, done, records, atKill-records)
	require.Positive(t, done)
	require.Less(t, done, int64(records), "the renormalize was cut half way")

	n2 := runRepair(ctx, t, env, args...)
	assert.Equal(t, records-int(done), n2["read"], "the second run resumes at the checkpoint: it reads only the records after it")
	assert.Positive(t, n2["corrected"])
	assert.Less(t, n2["corrected"], len(unknown), "what the killed run checkpointed is not emitted again")
	assert.Equal(t, 0, n2["dead"]+n2["no_index"]+n2["unmatched"])

	n3 := runRepair(ctx, t, env, args...)
	assert.Equal(t, 0, n3["read"], "a third run finds the range done")
	assert.Equal(t, 0, n3["corrected"])

	n, err = canonicalCount(ctx, k.Brokers, canon, partitions)
	require.NoError(t, err)
	all := k.ReadAll(t, canon, int(n), 60*time.Second)
	require.Len(t, all, int(n))
	seen := map[string]int{}
	correction := map[string]string{} // corrected (unknown) id -> its correction's id
	dups := 0
	for _, m := range all {
		var ev shipment.Event
		require.NoError(t, json.Unmarshal(m.Value, &ev))
		require.Equal(t, ev.ID, string(broker.Header(m, schemas.HeaderEventID)))
		seen[ev.ID]++
		if originals[ev.ID] {
			assert.Equal(t, 1, seen[ev.ID], "original event %s is not emitted again", ev.ID)
			continue
		}
		assert.True(t, unknown[ev.Data.Corrects], "correction %s corrects an unknown event (corrects %q)", ev.ID, ev.Data.Corrects)
		assert.Equal(t, shipment.StatusException, ev.Data.Status, "the correction carries the new mapping")
		assert.Equal(t, "Hilang", ev.Data.ProviderStatus)
		assert.Equal(t, repair.CorrectionID(ev.Data.Corrects, &ev), ev.ID, "a correction's id is derived from the event it corrects")
		if prev, ok := correction[ev.Data.Corrects]; ok {
			assert.Equal(t, prev, ev.ID, "one correction id per corrected event")
		}
		correction[ev.Data.Corrects] = ev.ID
		if seen[ev.ID] == 1 {
			continue
		}
		// A second copy: its raw record must be in the batch in flight at the kill,
		// the one starting at its partition's checkpoint.
		dups++
		assert.Equal(t, 2, seen[ev.ID], "a correction is emitted at most twice")
		src := strings.Split(string(broker.Header(m, schemas.HeaderRawSource)), "/")
		require.Len(t, src, 3)
		p, _ := strconv.Atoi(src[1])
		off, _ := strconv.ParseInt(src[2], 10, 64)
		assert.True(t, off >= cp[p] && off < cp[p]+repairKillBatch,
			"duplicate correction %s from raw %s/%d is outside the batch in flight at the kill (checkpoint %v)", ev.ID, src[0], off, cp)
	}
	assert.Len(t, correction, len(unknown), "every unknown event has its correction, and nothing else was emitted")
	assert.Equal(t, records+len(unknown)+dups, len(all))
	t.Logf("%d corrections, %d emitted twice (the batch in flight at the kill)", len(correction), dups)
}
