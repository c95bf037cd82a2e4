package broker

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/fetch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestCommitOffsets(t *testing.T) {
	assigned := map[assignedPartition]bool{{"a", 0}: true, {"a", 1}: true, {"b", 0}: true}
	got, dropped := commitOffsets([]kafka.Message{
		{Topic: "a", Partition: 0, Offset: 5},
		{Topic: "a", Partition: 0, Offset: 9},
		{Topic: "a", Partition: 0, Offset: 7},
		{Topic: "a", Partition: 1, Offset: 0},
		{Topic: "a", Partition: 2, Offset: 4}, // not ours any more
		{Topic: "a", Partition: 2, Offset: 5},
		{Topic: "c", Partition: 0, Offset: 1}, // not ours any more
	}, assigned)
	assert.Equal(t, map[string]map[int]int64{"a": {0: 10, 1: 1}}, got)
	assert.Equal(t, 2, dropped)
}

func TestGroupByLeader(t *testing.T) {
	pos := &fetchPositions{next: map[assignedPartition]int64{{"t", 0}: 0, {"t", 1}: 0, {"t", 2}: 0, {"u", 0}: 0}}
	want := map[string]bool{"t": true, "u": true}
	groupByLeader := func(meta []kafka.Topic, want map[string]bool, pos *fetchPositions) (map[int][]assignedPartition, error) {
		leader, err := leadersOf(meta, want)
		if err != nil {
			return nil, err
		}
		return groupByLeader(leader, pos)
	}
	b1 := kafka.Broker{ID: 1, Host: "h1", Port: 9092}
	b2 := kafka.Broker{ID: 2, Host: "h2", Port: 9092}
	meta := []kafka.Topic{
		{Name: "t", Partitions: []kafka.Partition{{ID: 2, Leader: b1}, {ID: 0, Leader: b1}, {ID: 1, Leader: b2}, {ID: 3, Leader: b2}}},
		{Name: "u", Partitions: []kafka.Partition{{ID: 0, Leader: b1}}},
		{Name: "other", Partitions: []kafka.Partition{{ID: 0}}}, // not assigned: its missing leader does not matter
	}
	got, err := groupByLeader(meta, want, pos)
	require.NoError(t, err)
	assert.Equal(t, map[int][]assignedPartition{
		1: {{"t", 0}, {"t", 2}, {"u", 0}},
		2: {{"t", 1}},
	}, got)

	t.Run("partition without leader", func(t *testing.T) {
		meta := []kafka.Topic{{Name: "t", Partitions: []kafka.Partition{{ID: 0, Leader: b1}, {ID: 1}, {ID: 2, Leader: b1}}}, meta[1]}
		_, err := groupByLeader(meta, want, pos)
		assert.ErrorContains(t, err, "t/1 has no leader")
	})
	t.Run("assigned partition missing from metadata", func(t *testing.T) {
		_, err := groupByLeader(meta[:1], want, pos)
		assert.ErrorContains(t, err, "no metadata for partition u/0")
	})
}

func TestActionFor(t *testing.T) {
	tests := map[kafka.Error]fetchAction{
		kafka.OffsetOutOfRange:         actionReset,
		kafka.NotLeaderForPartition:    actionRegroup,
		kafka.UnknownTopicOrPartition:  actionRegroup,
		kafka.LeaderNotAvailable:       actionRegroup,
		kafka.FencedLeaderEpoch:        actionRegroup,
		kafka.InvalidMessage:           actionBackoff,
		kafka.TopicAuthorizationFailed: actionBackoff,
	}
	for code, want := range tests {
		assert.Equal(t, want, actionFor(code), code.Error())
	}
}

func TestFetchRequest_OneRequestForAllPartitions(t *testing.T) {
	r := &GroupReader{opts: GroupReaderOptions{}}
	r.opts.setDefaults()
	parts := []assignedPartition{{"a", 0}, {"a", 3}, {"b", 1}}
	pos := &fetchPositions{next: map[assignedPartition]int64{{"a", 0}: 10, {"a", 3}: 0, {"b", 1}: 42}}
	req := r.fetchRequest(parts, pos)
	assert.EqualValues(t, DefaultGroupMaxWait/time.Millisecond, req.MaxWaitTime)
	assert.EqualValues(t, 1, req.MinBytes)
	assert.EqualValues(t, 4<<20, req.MaxBytes)
	require.Len(t, req.Topics, 2)
	assert.Equal(t, "a", req.Topics[0].Topic)
	require.Len(t, req.Topics[0].Partitions, 2)
	assert.EqualValues(t, 10, req.Topics[0].Partitions[0].FetchOffset)
	assert.EqualValues(t, 3, req.Topics[0].Partitions[1].Partition)
	assert.EqualValues(t, 512<<10, req.Topics[0].Partitions[1].PartitionMaxBytes)
	assert.Equal(t, "b", req.Topics[1].Topic)
	assert.EqualValues(t, 42, req.Topics[1].Partitions[0].FetchOffset)
}

// TestFetchSession: with no session the request is full and asks for one
// (epoch 0); once granted, requests carry the session id and the next epoch
// and name only the partitions whose position moved; a broker that grants
// none keeps every request full; reset starts over.
func TestFetchSession(t *testing.T) {
	r := &GroupReader{opts: GroupReaderOptions{}}
	r.opts.setDefaults()
	parts := []assignedPartition{{"a", 0}, {"a", 1}, {"b", 0}}
	pos := &fetchPositions{next: map[assignedPartition]int64{{"a", 0}: 10, {"a", 1}: 20, {"b", 0}: 30}}
	named := func(req *fetch.Request) map[assignedPartition]int64 {
		out := map[assignedPartition]int64{}
		for _, tp := range req.Topics {
			for _, p := range tp.Partitions {
				out[assignedPartition{tp.Topic, int(p.Partition)}] = p.FetchOffset
			}
		}
		return out
	}
	s := &fetchSession{}

	req := s.request(r.fetchRequest(parts, pos))
	assert.EqualValues(t, 0, req.SessionID)
	assert.EqualValues(t, 0, req.SessionEpoch, "epoch 0 asks the broker to open a session")
	assert.Len(t, named(req), 3, "the first request is full")
	assert.True(t, s.answered(req, &fetchAnswer{SessionID: 77}))

	req = s.request(r.fetchRequest(parts, pos))
	assert.EqualValues(t, 77, req.SessionID)
	assert.EqualValues(t, 1, req.SessionEpoch)
	assert.Empty(t, named(req), "nothing moved: an incremental request names no partition")
	assert.False(t, s.answered(req, &fetchAnswer{SessionID: 77}))

	pos.set(assignedPartition{"a", 1}, 25) // records came back for a/1
	req = s.request(r.fetchRequest(parts, pos))
	assert.EqualValues(t, 2, req.SessionEpoch)
	assert.Equal(t, map[assignedPartition]int64{{"a", 1}: 25}, named(req))
	s.answered(req, &fetchAnswer{SessionID: 77})
	req = s.request(r.fetchRequest(parts, pos))
	assert.Empty(t, named(req), "the broker holds a/1 at 25 now")
	assert.EqualValues(t, 3, req.SessionEpoch)

	s.epoch = math.MaxInt32
	s.answered(req, &fetchAnswer{SessionID: 77})
	assert.EqualValues(t, 1, s.epoch, "the epoch wraps to 1, as the broker's does")

	s.reset()
	req = s.request(r.fetchRequest(parts, pos))
	assert.EqualValues(t, 0, req.SessionID)
	assert.Len(t, named(req), 3, "after a reset the request is full again")
	assert.False(t, s.answered(req, &fetchAnswer{SessionID: 0}), "no session granted")
	req = s.request(r.fetchRequest(parts, pos))
	assert.Len(t, named(req), 3, "without a session every request stays full")
	assert.EqualValues(t, 0, req.SessionEpoch)
}

// TestNewBackOff: the delay doubles from lo to hi, each wait within ±50 % of
// its step, and Reset starts over at lo.
func TestNewBackOff(t *testing.T) {
	bo := newBackOff(10*time.Millisecond, 50*time.Millisecond)
	steps := []time.Duration{10, 20, 40, 50, 50}
	for i, step := range steps {
		got := bo.NextBackOff()
		assert.GreaterOrEqual(t, got, step*time.Millisecond/2, "wait %d", i)
		assert.LessOrEqual(t, got, step*time.Millisecond*3/2, "wait %d", i)
	}
	bo.Reset()
	assert.LessOrEqual(t, bo.NextBackOff(), 15*time.Millisecond)
}

// bareReader is a GroupReader without a consumer group, for the hand-out
// logic alone.
func bareReader() *GroupReader {
	return &GroupReader{
		log:    zap.NewNop(),
		queue:  make(chan *fetchedBatch, 4),
		taken:  make(chan struct{}, 1),
		errs:   make(chan error, 1),
		fetchL: make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
}

func TestFetchMessage_DropsRecordsOfEndedGeneration(t *testing.T) {
	r := bareReader()
	gen := &kafka.Generation{Assignments: map[string][]kafka.PartitionAssignment{"t": {{ID: 0}}}}
	old := r.begin(gen)
	r.queue <- &fetchedBatch{epoch: old, msgs: []kafka.Message{{Offset: 1}, {Offset: 2}}}
	ctx := t.Context()
	m, err := r.FetchMessage(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, m.Offset)

	// The generation ends with offset 2 still in hand and offset 3 queued.
	r.queue <- &fetchedBatch{epoch: old, msgs: []kafka.Message{{Offset: 3}}}
	r.end(gen)
	assert.ErrorIs(t, r.CommitMessages(ctx, m), ErrNoGeneration)
	next := r.begin(&kafka.Generation{Assignments: gen.Assignments})
	assert.Greater(t, next, old)
	r.queue <- &fetchedBatch{epoch: old, msgs: []kafka.Message{{Offset: 4}}} // late, from a loop of the old one
	r.queue <- &fetchedBatch{epoch: next, msgs: []kafka.Message{{Offset: 1}}}
	m, err = r.FetchMessage(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, m.Offset, "first record of the new generation, none of the old one")
	assert.EqualValues(t, 2, r.Stats().Generations)
}

func TestFetchMessage_ErrorsAndClose(t *testing.T) {
	r := bareReader()
	joinErr := errors.New("coordinator not available")
	r.report(errors.New("older"))
	r.report(joinErr)
	_, err := r.FetchMessage(t.Context())
	assert.Equal(t, joinErr, err, "the latest join error only")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = r.FetchMessage(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	close(r.closed)
	_, err = r.FetchMessage(t.Context())
	assert.ErrorIs(t, err, io.EOF)
	assert.ErrorIs(t, r.CommitMessages(t.Context(), kafka.Message{}), io.ErrClosedPipe)
}

// TestWaitTaken: a fetch loop that queued batches waits until FetchMessage has
// taken the last of them (not until their records are all handed out), and
// stops waiting when its context ends.
func TestWaitTaken(t *testing.T) {
	r := bareReader()
	gen := &kafka.Generation{Assignments: map[string][]kafka.PartitionAssignment{"t": {{ID: 0}}}}
	epoch := r.begin(gen)
	r.queue <- &fetchedBatch{epoch: epoch, msgs: []kafka.Message{{Offset: 1}, {Offset: 2}}}
	r.queue <- &fetchedBatch{epoch: epoch, msgs: []kafka.Message{{Offset: 3}}}

	done := make(chan bool, 1)
	go func() { done <- r.waitTaken(t.Context()) }()
	ctx := t.Context()
	for _, want := range []int64{1, 2} {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err)
		require.EqualValues(t, want, m.Offset)
		select {
		case <-done:
			t.Fatalf("waitTaken returned with a batch still queued (after offset %d)", want)
		case <-time.After(20 * time.Millisecond):
		}
	}
	m, err := r.FetchMessage(ctx) // takes the last queued batch
	require.NoError(t, err)
	require.EqualValues(t, 3, m.Offset)
	select {
	case ok := <-done:
		assert.True(t, ok)
	case <-time.After(5 * time.Second):
		t.Fatal("waitTaken still waiting with the queue empty")
	}

	r.queue <- &fetchedBatch{epoch: epoch, msgs: []kafka.Message{{Offset: 4}}}
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.False(t, r.waitTaken(cctx), "an ended context stops the wait")
}
