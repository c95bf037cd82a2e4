package broker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

// produceSeq writes records from..from+n-1 (value and key carry the number),
// spread round-robin over the topic's partitions, in order per partition.
func produceSeq(t testing.TB, brokers []string, topic string, from, n, size int) {
	t.Helper()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.RoundRobin{},
		BatchTimeout: time.Millisecond, BatchSize: 1000, RequiredAcks: kafka.RequireAll,
	}
	defer w.Close()
	pad := make([]byte, max(size, 0))
	for i := range pad {
		pad[i] = 'x'
	}
	for start := from; start < from+n; start += 1000 {
		msgs := make([]kafka.Message, 0, 1000)
		for i := start; i < min(start+1000, from+n); i++ {
			msgs = append(msgs, kafka.Message{
				Key: []byte("k" + strconv.Itoa(i)), Value: []byte(strconv.Itoa(i)),
				Headers: []kafka.Header{{Key: "pad", Value: pad}},
			})
		}
		writeRetrying(t, w, msgs)
	}
}

// writeRetrying writes msgs, retrying for a while: a writer's metadata may not
// know a topic created a moment ago (Unknown Topic Or Partition).
func writeRetrying(t testing.TB, w *kafka.Writer, msgs []kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			require.NoError(t, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func seqOf(t testing.TB, m kafka.Message) int {
	n, err := strconv.Atoi(string(m.Value))
	require.NoError(t, err)
	return n
}

func newGroupReader(t testing.TB, k *testkit.KafkaEnv, group, topic string, opts broker.GroupReaderOptions) *broker.GroupReader {
	t.Helper()
	r, err := broker.NewGroupReader(k.Config(), group, []string{topic}, zaptest.NewLogger(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// readN fetches n records from r, or fails the test after timeout.
func readN(t testing.TB, r broker.Fetcher, n int, timeout time.Duration) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := make([]kafka.Message, 0, n)
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read %d of %d records before the timeout", len(out), n)
		}
		if err != nil {
			continue // a failed join attempt: the reader retries
		}
		out = append(out, m)
	}
	return out
}

// assertNothingMore checks that r has no further record within wait.
func assertNothingMore(t testing.TB, r broker.Fetcher, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := r.FetchMessage(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "unexpected record %s/%d@%d", m.Topic, m.Partition, m.Offset)
}

// assertInOrderOnce checks that msgs hold every record 0..n-1 exactly once,
// each partition's offsets consecutive from 0 and in the order produced.
func assertInOrderOnce(t testing.TB, msgs []kafka.Message, n int) {
	t.Helper()
	seen := map[int]bool{}
	byPart := map[int][]kafka.Message{}
	for _, m := range msgs {
		i := seqOf(t, m)
		assert.False(t, seen[i], "record %d delivered twice", i)
		seen[i] = true
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	assert.Len(t, seen, n)
	for p, ms := range byPart {
		for j, m := range ms {
			assert.EqualValues(t, j, m.Offset, "partition %d: record %d out of order", p, j)
			if j > 0 {
				assert.Greater(t, seqOf(t, m), seqOf(t, ms[j-1]), "partition %d: produced order", p)
			}
		}
	}
}

func TestIntegrationGroupReader_ConsumesEveryRecordOnceInOrder(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 6)
	const half = 1500
	produceSeq(t, k.Brokers, topic, 0, half, 50) // waiting before the reader joins
	r := newGroupReader(t, k, k.Group(t), topic, broker.GroupReaderOptions{})
	got := readN(t, r, half, 60*time.Second)
	produceSeq(t, k.Brokers, topic, half, half, 50) // arriving while it long-polls
	got = append(got, readN(t, r, half, 30*time.Second)...)
	assertNothingMore(t, r, time.Second)
	assertInOrderOnce(t, got, 2*half)

	st := r.Stats()
	t.Logf("GroupReader: %d records in %d fetch requests (%d empty)", st.Records, st.Fetches, st.EmptyFetches)
	assert.EqualValues(t, 6, st.Partitions)
	assert.EqualValues(t, 2*half, st.Records)
	assert.Less(t, st.Fetches*10, st.Records, "a loaded reader sends far fewer fetch requests than records")
	assert.EqualValues(t, 1, st.Sessions, "one incremental fetch session for the generation's one fetch loop")
	assert.Zero(t, st.SessionResets, "the broker kept the session and accepted every epoch")
}

func TestIntegrationGroupReader_ResumesAfterCommittedOffsets(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic, group := k.Topic(t, 6), k.Group(t)
	const n = 600
	produceSeq(t, k.Brokers, topic, 0, n, 10)

	first := newGroupReader(t, k, group, topic, broker.GroupReaderOptions{})
	all := readN(t, first, n, 60*time.Second)
	done := all[:n/2] // only these are "processed"
	require.NoError(t, first.CommitMessages(t.Context(), broker.LastPerPartition(done)...))
	committed := map[int]int64{}
	for _, m := range broker.LastPerPartition(done) {
		committed[m.Partition] = m.Offset + 1
	}
	require.NoError(t, first.Close())
	require.NoError(t, first.Close(), "Close is idempotent")

	second := newGroupReader(t, k, group, topic, broker.GroupReaderOptions{})
	want := 0
	for _, m := range all {
		if m.Offset >= committed[m.Partition] {
			want++
		}
	}
	rest := readN(t, second, want, 60*time.Second)
	assertNothingMore(t, second, time.Second)
	firstOffset := map[int]int64{}
	for _, m := range rest {
		assert.GreaterOrEqual(t, m.Offset, committed[m.Partition], "partition %d: record below the committed offset", m.Partition)
		if _, ok := firstOffset[m.Partition]; !ok {
			firstOffset[m.Partition] = m.Offset
		}
	}
	for p, off := range firstOffset {
		assert.Equal(t, committed[p], off, "partition %d resumes exactly at its committed offset", p)
	}
}

// delivery log for the two-member test: every hand-out and every successful
// commit, in the order they happened.
type groupEvent struct {
	reader    string
	commit    bool
	partition int
	offset    int64 // delivered offset, or committed offset (next to read)
	seq       int
}

type groupLog struct {
	mu     sync.Mutex
	events []groupEvent
}

func (l *groupLog) add(e groupEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *groupLog) delivered() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]int{}
	for _, e := range l.events {
		if !e.commit {
			out[e.seq]++
		}
	}
	return out
}

// consumeCommitting fetches from r and commits each record right away, until
// ctx ends, logging both.
func consumeCommitting(ctx context.Context, t *testing.T, name string, r *broker.GroupReader, log *groupLog) {
	for {
		m, err := r.FetchMessage(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			continue
		}
		log.add(groupEvent{reader: name, partition: m.Partition, offset: m.Offset, seq: seqOf(t, m)})
		dropped := r.Stats().CommitsDropped
		if err := r.CommitMessages(ctx, m); err == nil && r.Stats().CommitsDropped == dropped {
			log.add(groupEvent{reader: name, commit: true, partition: m.Partition, offset: m.Offset + 1})
		}
	}
}

func TestIntegrationGroupReader_TwoMembersSplitAndTakeOver(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic, group := k.Topic(t, 6), k.Group(t)
	log := &groupLog{}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	a := newGroupReader(t, k, group, topic, broker.GroupReaderOptions{})
	b := newGroupReader(t, k, group, topic, broker.GroupReaderOptions{})
	bctx, bcancel := context.WithCancel(ctx)
	wg.Go(func() { consumeCommitting(ctx, t, "a", a, log) })
	wg.Go(func() { consumeCommitting(bctx, t, "b", b, log) })

	produceSeq(t, k.Brokers, topic, 0, 300, 10)
	require.Eventually(t, func() bool { return a.Stats().Partitions == 3 && b.Stats().Partitions == 3 },
		60*time.Second, 50*time.Millisecond, "the two members split the six partitions")
	produceSeq(t, k.Brokers, topic, 300, 300, 10)
	require.Eventually(t, func() bool { return len(log.delivered()) == 600 }, 60*time.Second, 50*time.Millisecond)
	byReader := map[string]int{}
	log.mu.Lock()
	for _, e := range log.events {
		if !e.commit {
			byReader[e.reader]++
		}
	}
	log.mu.Unlock()
	assert.Positive(t, byReader["a"])
	assert.Positive(t, byReader["b"])

	bcancel()
	require.NoError(t, b.Close())
	require.Eventually(t, func() bool { return a.Stats().Partitions == 6 }, 60*time.Second, 50*time.Millisecond,
		"the remaining member takes every partition")
	produceSeq(t, k.Brokers, topic, 600, 300, 10)
	require.Eventually(t, func() bool { return len(log.delivered()) == 900 }, 60*time.Second, 50*time.Millisecond,
		"nothing lost")
	cancel()
	wg.Wait()

	// A record may come again only if nobody had committed past it before.
	log.mu.Lock()
	defer log.mu.Unlock()
	committed := map[int]int64{}
	dups := 0
	for _, e := range log.events {
		if e.commit {
			committed[e.partition] = max(committed[e.partition], e.offset)
			continue
		}
		assert.GreaterOrEqual(t, e.offset, committed[e.partition],
			"%s got %d/%d after offset %d was committed", e.reader, e.partition, e.offset, committed[e.partition])
	}
	for _, n := range log.deliveredLocked() {
		if n > 1 {
			dups++
		}
	}
	t.Logf("records: 900; delivered per reader before b closed: %v; redelivered (uncommitted) records: %d; a: %+v",
		byReader, dups, a.Stats())
}

func (l *groupLog) deliveredLocked() map[int]int {
	out := map[int]int{}
	for _, e := range l.events {
		if !e.commit {
			out[e.seq]++
		}
	}
	return out
}

func TestIntegrationGroupReader_OffsetOutOfRangeResets(t *testing.T) {
	t.Parallel()
	for name, latest := range map[string]bool{"to earliest": false, "to latest": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := testkit.Kafka(t)
			topic, group := k.Topic(t, 1), k.Group(t)
			produceSeq(t, k.Brokers, topic, 0, 10, 0)

			// Commit an offset far past the end of the partition.
			first := newGroupReader(t, k, group, topic, broker.GroupReaderOptions{})
			m := readN(t, first, 1, 60*time.Second)[0]
			m.Offset = 999
			require.NoError(t, first.CommitMessages(t.Context(), m))
			require.NoError(t, first.Close())

			r := newGroupReader(t, k, group, topic, broker.GroupReaderOptions{StartAtLatest: latest})
			require.Eventually(t, func() bool { return r.Stats().OffsetResets >= 1 }, 60*time.Second, 20*time.Millisecond)
			if latest {
				assertNothingMore(t, r, time.Second)
				produceSeq(t, k.Brokers, topic, 10, 1, 0)
				got := readN(t, r, 1, 30*time.Second)[0]
				assert.EqualValues(t, 10, got.Offset)
				return
			}
			got := readN(t, r, 10, 30*time.Second)
			assert.EqualValues(t, 0, got[0].Offset)
			assert.EqualValues(t, 9, got[9].Offset)
		})
	}
}

// kafkaReaderFetches sums kafka.Reader.Stats().Fetches, which resets on read.
type kafkaReaderFetches struct {
	r     *kafka.Reader
	total int64
}

func (f *kafkaReaderFetches) read() int64 {
	f.total += f.r.Stats().Fetches
	return f.total
}

func TestIntegrationGroupReader_FetchRequestCounts(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 6)
	ours := newGroupReader(t, k, k.Group(t), topic, broker.GroupReaderOptions{MaxWait: 500 * time.Millisecond})
	theirs := map[string]*kafka.Reader{
		"kafka.Reader MaxWait=500ms": broker.NewReader(k.Config(), k.Group(t), []string{topic}, nil, broker.ReaderOptions{MaxWait: 500 * time.Millisecond}),
		"kafka.Reader MaxWait=2s":    broker.NewReader(k.Config(), k.Group(t), []string{topic}, nil, broker.ReaderOptions{}),
	}
	counts := map[string]*kafkaReaderFetches{}
	for name, r := range theirs {
		t.Cleanup(func() { _ = r.Close() })
		counts[name] = &kafkaReaderFetches{r: r}
	}

	// One record each: every reader has joined and fetches all six partitions.
	produceSeq(t, k.Brokers, topic, 0, 1, 0)
	readN(t, ours, 1, 60*time.Second)
	for _, r := range theirs {
		readN(t, r, 1, 60*time.Second)
	}

	const idle = 5 * time.Second
	before := ours.Stats().Fetches
	for _, c := range counts {
		c.read()
	}
	time.Sleep(idle) // measuring what an idle reader costs the broker over this window
	idleOurs := ours.Stats().Fetches - before
	idleTheirs := map[string]int64{}
	for name, c := range counts {
		prev := c.total
		idleTheirs[name] = c.read() - prev
	}
	t.Logf("idle %s, 6 partitions, fetch requests: GroupReader MaxWait=500ms: %d; %v", idle, idleOurs, idleTheirs)
	assert.LessOrEqual(t, idleOurs, int64(idle/(500*time.Millisecond))+2, "about one fetch per MaxWait")
	assert.GreaterOrEqual(t, idleOurs, int64(idle/(500*time.Millisecond))-2, "still long-polling")
	assert.Less(t, idleOurs, idleTheirs["kafka.Reader MaxWait=500ms"])

	// Loaded: a steady trickle of small produce batches, all readers consuming.
	const batches, per = 200, 10
	beforeOurs := ours.Stats()
	for _, c := range counts {
		c.read()
	}
	before = beforeOurs.Fetches
	var wg sync.WaitGroup
	wg.Go(func() { readN(t, ours, batches*per, 60*time.Second) })
	for _, r := range theirs {
		wg.Go(func() { readN(t, r, batches*per, 60*time.Second) })
	}
	w := &kafka.Writer{Addr: kafka.TCP(k.Brokers...), Topic: topic, Balancer: &kafka.RoundRobin{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	for i := range batches {
		msgs := make([]kafka.Message, per)
		for j := range msgs {
			msgs[j] = kafka.Message{Value: []byte(strconv.Itoa(1 + i*per + j))}
		}
		writeRetrying(t, w, msgs)
		time.Sleep(5 * time.Millisecond) // a trickle, not one bulk write
	}
	wg.Wait()
	loadedOurs := ours.Stats().Fetches - before
	loadedTheirs := map[string]int64{}
	for name, c := range counts {
		prev := c.total
		loadedTheirs[name] = c.read() - prev
	}
	t.Logf("loaded (%d records in %d produce batches of %d), fetch requests: GroupReader: %d; %v",
		batches*per, batches, per, loadedOurs, loadedTheirs)
	// A produce batch lands as one append per partition, so a trickle costs up
	// to one fetch per append; kafka.Reader pays one per partition per append.
	assert.Less(t, loadedOurs, loadedTheirs["kafka.Reader MaxWait=500ms"])
}

// BenchmarkGroupReader_Consume prints records/s consumed (clock from the first
// record) and fetch requests per run, GroupReader vs kafka.Reader, from one
// prefilled 6-partition topic; each run is a fresh group that fetches, then
// commits every 500 records. Figures only, no assertion:
//
//	KAFKA_BROKERS=127.0.0.1:9092 go test ./broker/ -run '^$' -bench GroupReader_Consume -benchtime 3x
func BenchmarkGroupReader_Consume(b *testing.B) {
	k := testkit.Kafka(b)
	topic := k.Topic(b, 6)
	const n = 60000
	produceSeq(b, k.Brokers, topic, 0, n, 300)
	type reader interface {
		broker.Fetcher
		CommitMessages(ctx context.Context, msgs ...kafka.Message) error
		Close() error
	}
	run := func(b *testing.B, open func(group string) (reader, func() int64)) {
		var secs, fetches float64
		for i := 0; i < b.N; i++ {
			r, fetchCount := open(fmt.Sprintf("%s-%d", k.Group(b), i))
			var start time.Time
			batch := make([]kafka.Message, 0, 500)
			for got := 0; got < n; got++ {
				m := readN(b, r, 1, 60*time.Second)[0]
				if start.IsZero() {
					start = time.Now()
				}
				if batch = append(batch, m); len(batch) == cap(batch) || got == n-1 {
					require.NoError(b, r.CommitMessages(context.Background(), broker.LastPerPartition(batch)...))
					batch = batch[:0]
				}
			}
			secs += time.Since(start).Seconds()
			fetches += float64(fetchCount())
			_ = r.Close()
		}
		b.ReportMetric(float64(n*b.N)/secs, "records/s")
		b.ReportMetric(fetches/float64(b.N), "fetches/run")
	}
	b.Run("GroupReader", func(b *testing.B) {
		run(b, func(group string) (reader, func() int64) {
			r, err := broker.NewGroupReader(k.Config(), group, []string{topic}, nil, broker.GroupReaderOptions{})
			require.NoError(b, err)
			return r, func() int64 { return r.Stats().Fetches }
		})
	})
	b.Run("kafka.Reader", func(b *testing.B) {
		run(b, func(group string) (reader, func() int64) {
			r := broker.NewReader(k.Config(), group, []string{topic}, nil, broker.ReaderOptions{})
			c := &kafkaReaderFetches{r: r}
			return r, c.read
		})
	})
}

func TestIntegrationGroupReader_TopicDeletedBacksOffAndCloses(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	produceSeq(t, k.Brokers, topic, 0, 30, 0)
	r := newGroupReader(t, k, k.Group(t), topic, broker.GroupReaderOptions{MaxWait: 500 * time.Millisecond})
	readN(t, r, 30, 60*time.Second)

	c := &kafka.Client{Addr: kafka.TCP(k.Brokers...), Timeout: 10 * time.Second}
	_, err := c.DeleteTopics(t.Context(), &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	require.NoError(t, err)
	before := r.Stats()
	const window = 5 * time.Second
	time.Sleep(window) // what the reader does meanwhile is the point of the test
	after := r.Stats()
	t.Logf("topic deleted, %s: fetch requests %d, failed %d, regroups %d, generations %d",
		window, after.Fetches-before.Fetches, after.FetchErrors-before.FetchErrors,
		after.Regroups-before.Regroups, after.Generations-before.Generations)
	assert.Less(t, after.Fetches-before.Fetches, int64(40), "backs off instead of spinning on a missing topic")

	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
	_, err = r.FetchMessage(t.Context())
	assert.ErrorIs(t, err, io.EOF)
}
