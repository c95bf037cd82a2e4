package broker

import (
	"context"
	"fmt"
	"sync"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// Offsets are the offsets ListOffsets read, per topic and partition.
type Offsets map[string]map[int]int64

// ListOffsets returns the offset at ts (kafka.FirstOffset, kafka.LastOffset, or
// a timestamp in milliseconds) of each of the given partitions, with one
// ListOffsets request per partition leader. kafka-go's Client.ListOffsets
// sends one request per partition and offset kind instead (its request type
// splits itself), so reading a 6-partition topic's end offsets cost 6
// requests, and as many pooled connections when they ran in parallel. c's
// cached metadata routes the requests; a partition that has no leader in it,
// or whose leader answers with an error, fails the call.
func ListOffsets(ctx context.Context, c *kafka.Client, partitions map[string][]int, ts int64) (Offsets, error) {
	want := make(map[string]bool, len(partitions))
	for t := range partitions {
		want[t] = true
	}
	leader, err := partitionLeaders(ctx, c, want)
	if err != nil {
		return nil, err
	}
	byLeader := map[int]map[string][]listoffsets.RequestPartition{}
	for topic, parts := range partitions {
		for _, p := range parts {
			id, ok := leader[assignedPartition{topic, p}]
			if !ok {
				return nil, fmt.Errorf("no metadata for partition %s/%d", topic, p)
			}
			if byLeader[id] == nil {
				byLeader[id] = map[string][]listoffsets.RequestPartition{}
			}
			byLeader[id][topic] = append(byLeader[id][topic],
				listoffsets.RequestPartition{Partition: int32(p), CurrentLeaderEpoch: -1, Timestamp: ts})
		}
	}
	out := Offsets{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 0, len(byLeader))
	for _, topics := range byLeader {
		req := &leaderListOffsets{ReplicaID: -1}
		for topic, parts := range topics {
			req.Topics = append(req.Topics, listoffsets.RequestTopic{Topic: topic, Partitions: parts})
		}
		wg.Go(func() {
			res, err := c.Transport.RoundTrip(ctx, c.Addr, req)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				err = collectOffsets(res.(*listoffsets.Response), out)
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("listing offsets: %w", errs[0])
	}
	for topic, parts := range partitions {
		for _, p := range parts {
			if _, ok := out[topic][p]; !ok {
				return nil, fmt.Errorf("listing offsets: %s/%d missing from the answer", topic, p)
			}
		}
	}
	return out, nil
}

func collectOffsets(res *listoffsets.Response, out Offsets) error {
	for _, t := range res.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, kafka.Error(p.ErrorCode))
			}
			if out[t.Topic] == nil {
				out[t.Topic] = map[int]int64{}
			}
			out[t.Topic][int(p.Partition)] = p.Offset
		}
	}
	return nil
}

// leaderListOffsets is listoffsets.Request without its Split method, so the
// transport sends it whole, to the leader of its first partition (every
// partition in it has that leader). The protocol package encodes it as a
// listoffsets.Request: same API key, same layout.
type leaderListOffsets listoffsets.Request

func (r *leaderListOffsets) ApiKey() protocol.ApiKey { return protocol.ListOffsets }

func (r *leaderListOffsets) Broker(cluster protocol.Cluster) (protocol.Broker, error) {
	return (*listoffsets.Request)(r).Broker(cluster)
}
