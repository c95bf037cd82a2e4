package broker_test

import (
	"context"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
)

// countingTransport records the ListOffsets requests it forwards and their
// offset kinds (before kafka-go splits its own request type per partition and
// kind; broker.ListOffsets sends a type of the same layout that is not split).
type countingTransport struct {
	kafka.RoundTripper
	mu                    sync.Mutex
	requests, first, last int
}

func (c *countingTransport) RoundTrip(ctx context.Context, addr net.Addr, req protocol.Message) (protocol.Message, error) {
	if req.ApiKey() == protocol.ListOffsets {
		lo := reflect.ValueOf(req).Elem().Convert(reflect.TypeFor[listoffsets.Request]()).Interface().(listoffsets.Request)
		c.mu.Lock()
		c.requests++
		for _, t := range lo.Topics {
			for _, p := range t.Partitions {
				switch p.Timestamp {
				case kafka.FirstOffset:
					c.first++
				case kafka.LastOffset:
					c.last++
				}
			}
		}
		c.mu.Unlock()
	}
	return c.RoundTripper.RoundTrip(ctx, addr, req)
}

// TestIntegrationGroupLagAsksFirstOffsetsOnlyWhereNeeded commits one partition of
// three and checks a lag round asks for three end offsets but only two first
// offsets, in one request each (one broker), gives the right lag, and that
// later rounds on the same client dial no new connection.
func TestIntegrationGroupLagAsksFirstOffsetsOnlyWhereNeeded(t *testing.T) {
	t.Parallel()
	k := testkit.Kafka(t)
	topic := k.Topic(t, 3)
	group := k.Group(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	writeKeyed(ctx, t, k, topic, 30)

	var dials atomic.Int64
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &kafka.Transport{IdleTimeout: 5 * time.Minute, MetadataTTL: 5 * time.Minute,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		}}
	ct := &countingTransport{RoundTripper: tr}
	c := &kafka.Client{Addr: kafka.TCP(k.Brokers...), Transport: ct, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()

	ends, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2)}}})
	require.NoError(t, err)
	total := int64(0)
	end := map[int]int64{}
	for _, p := range ends.Topics[topic] {
		require.NoError(t, p.Error)
		end[p.Partition] = p.LastOffset
		total += p.LastOffset
	}
	require.Equal(t, int64(30), total)
	require.Positive(t, end[0], "30 keys spread over 3 partitions")

	commit, err := c.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: end[0] - 1}}}})
	require.NoError(t, err)
	require.NoError(t, commit.Topics[topic][0].Error)

	ct.requests, ct.first, ct.last = 0, 0, 0
	dialsBefore := dials.Load()
	lag, err := broker.GroupLagWith(ctx, c, group, []string{topic})
	require.NoError(t, err)
	assert.Equal(t, 30-end[0]+1, lag[topic], "partition 0 owes one record, the others everything")
	assert.Equal(t, 3, ct.last, "every partition's end offset")
	assert.Equal(t, 2, ct.first, "first offsets only for the two partitions without a commit")
	assert.Equal(t, 2, ct.requests, "one request for the end offsets, one for the first offsets (one broker)")

	// A round needs one connection to the broker besides the control one;
	// ten more rounds on the same client dial nothing new.
	for range 10 {
		_, err = broker.GroupLagWith(ctx, c, group, []string{topic})
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, dials.Load()-dialsBefore, int64(2), "rounds reuse the client's connections")
}
