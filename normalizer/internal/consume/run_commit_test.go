package consume

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// countingFetcher records every CommitMessages call.
type countingFetcher struct {
	mu      sync.Mutex
	commits [][]kafka.Message
}

func (f *countingFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (f *countingFetcher) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commits = append(f.commits, append([]kafka.Message(nil), msgs...))
	return nil
}

func (f *countingFetcher) all() [][]kafka.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]kafka.Message(nil), f.commits...)
}

// startCommitLoop runs commitLoop on a fresh consumer; closing the returned
// channel ends it, and wait returns once it has.
func startCommitLoop(interval time.Duration) (*countingFetcher, chan<- []kafka.Message, func()) {
	f := &countingFetcher{}
	c := &Consumer{cfg: Config{CommitInterval: interval}, d: Deps{Fetcher: f}, log: zap.NewNop(), m: NewMetrics(nil), now: time.Now}
	commits := make(chan []kafka.Message, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.commitLoop(context.Background(), commits)
	}()
	return f, commits, func() { <-done }
}

// offsetsOf returns partition -> committed offset message of one commit.
func offsetsOf(t *testing.T, commit []kafka.Message) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for _, m := range commit {
		_, dup := out[m.Partition]
		require.False(t, dup, "one commit names partition %d once", m.Partition)
		out[m.Partition] = m.Offset
	}
	return out
}

// TestCommitLoop_IntervalBoundsCommits: batches finishing every 2 ms for 600 ms
// on two partitions are committed at most once per 100 ms interval (not once
// per batch), each commit moves every partition forward, and closing the
// channel (shutdown) commits the last batch's offsets.
func TestCommitLoop_IntervalBoundsCommits(t *testing.T) {
	const interval = 100 * time.Millisecond
	f, commits, wait := startCommitLoop(interval)
	started := time.Now()
	var off int64
	batches := 0
	for time.Since(started) < 600*time.Millisecond {
		off++
		commits <- []kafka.Message{
			{Topic: "raw", Partition: 0, Offset: off, Value: []byte("payload")},
			{Topic: "raw", Partition: 1, Offset: 10 * off},
		}
		batches++
		time.Sleep(2 * time.Millisecond)
	}
	close(commits)
	wait()
	elapsed := time.Since(started)

	got := f.all()
	maxCommits := int(elapsed/interval) + 2 // the leading commit and the final one
	t.Logf("%d batches in %v, %d commits", batches, elapsed, len(got))
	assert.Greater(t, batches, 5*maxCommits, "the load must outpace the interval for the bound to mean anything")
	assert.LessOrEqual(t, len(got), maxCommits, "at most one commit per interval, plus the final one")
	assert.GreaterOrEqual(t, len(got), 3, "commits happen during the run, not only at shutdown")

	prev := map[int]int64{}
	for i, commit := range got {
		offs := offsetsOf(t, commit)
		for p, o := range offs {
			assert.Greater(t, o, prev[p], "commit %d moves partition %d forward", i, p)
			prev[p] = o
		}
		for _, m := range commit {
			assert.Nil(t, m.Value, "a pending commit holds the position, not the record")
		}
	}
	assert.Equal(t, map[int]int64{0: off, 1: 10 * off}, offsetsOf(t, got[len(got)-1]),
		"the final commit carries the last done offsets of every partition")
}

// TestCommitLoop_ShutdownCommitsPending: with a long interval the first
// offsets go at once, later ones wait, and closing the channel commits the
// latest of them per partition in one request.
func TestCommitLoop_ShutdownCommitsPending(t *testing.T) {
	f, commits, wait := startCommitLoop(time.Hour)
	commits <- []kafka.Message{{Topic: "raw", Partition: 0, Offset: 1}}
	require.Eventually(t, func() bool { return len(f.all()) == 1 }, 5*time.Second, time.Millisecond,
		"the first offsets after a quiet interval are committed at once")
	commits <- []kafka.Message{{Topic: "raw", Partition: 0, Offset: 2}, {Topic: "raw", Partition: 3, Offset: 7}}
	commits <- []kafka.Message{{Topic: "raw", Partition: 0, Offset: 5}}
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, f.all(), 1, "within the interval, offsets wait")

	close(commits)
	wait()
	got := f.all()
	require.Len(t, got, 2)
	assert.Equal(t, map[int]int64{0: 5, 3: 7}, offsetsOf(t, got[1]))
}

// TestCommitLoop_ZeroIntervalCommitsEveryBatch: CommitInterval 0 keeps the
// commit-per-batch behaviour.
func TestCommitLoop_ZeroIntervalCommitsEveryBatch(t *testing.T) {
	f, commits, wait := startCommitLoop(0)
	for i := range 20 {
		commits <- []kafka.Message{{Topic: "raw", Partition: 0, Offset: int64(i + 1)}}
	}
	close(commits)
	wait()
	got := f.all()
	require.Len(t, got, 20)
	for i, commit := range got {
		assert.Equal(t, map[int]int64{0: int64(i + 1)}, offsetsOf(t, commit))
	}
}
