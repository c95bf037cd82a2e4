package broker_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
)

// failingTransport is a one-broker, one-partition fake: every produce request
// carrying a value in fail is answered with a retriable error, the rest are
// acked and their values recorded.
type failingTransport struct {
	topic string
	fail  map[string]bool

	mu    sync.Mutex
	acked []string
}

func (f *failingTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	switch r := req.(type) {
	case *metadataAPI.Request:
		return fakeMetadata(f.topic), nil
	case *produceAPI.Request:
		res := &produceAPI.Response{}
		for _, t := range r.Topics {
			rt := produceAPI.ResponseTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				values, err := recordValues(p.RecordSet)
				if err != nil {
					return nil, err
				}
				bad := false
				for _, v := range values {
					bad = bad || f.fail[v]
				}
				rp := produceAPI.ResponsePartition{Partition: p.Partition}
				if bad {
					rp.ErrorCode = int16(kafka.NotLeaderForPartition)
				} else {
					f.mu.Lock()
					f.acked = append(f.acked, values...)
					f.mu.Unlock()
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			res.Topics = append(res.Topics, rt)
		}
		return res, nil
	}
	return nil, errors.New("unexpected request")
}

// A record queued behind one that finally failed must not be acked before it:
// the failed record's caller retries (or spools) it, so it would land after
// the later one and reorder the partition. Here the forwarder-style batch is
// split into one request per record; the first exhausts its attempts.
func TestProducer_FailedRecordIsNotOvertakenByLaterOnes(t *testing.T) {
	ft := &failingTransport{topic: "t", fail: map[string]bool{"1": true}}
	p := broker.NewProducer(broker.Config{Brokers: []string{"fake:9092"}}, "t",
		broker.ProducerOptions{Transport: ft, MaxBatchBytes: 1, MaxAttempts: 2})
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	err := p.WriteMessages(ctx,
		kafka.Message{Key: []byte("k"), Value: []byte("1")},
		kafka.Message{Key: []byte("k"), Value: []byte("2")},
		kafka.Message{Key: []byte("k"), Value: []byte("3")})
	require.Error(t, err)
	require.NoError(t, p.Close())
	ft.mu.Lock()
	defer ft.mu.Unlock()
	require.Empty(t, ft.acked, "records acked after an earlier record of their partition failed")
}
