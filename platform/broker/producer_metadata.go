package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// partitions returns the partition queues, reading the topic's layout from the
// broker on first use and refreshing it in the
// background every MetadataTTL (new partitions get a queue; the count never
// shrinks).
func (p *Producer) partitions(ctx context.Context) ([]*partitionQueue, []int, error) {
	p.mu.Lock()
	parts, ids, at := p.parts, p.ids, p.metaAt
	p.mu.Unlock()
	if len(parts) == 0 {
		if err := p.refresh(ctx); err != nil {
			return nil, nil, err
		}
		p.mu.Lock()
		parts, ids = p.parts, p.ids
		p.mu.Unlock()
		return parts, ids, nil
	}
	if time.Since(at) > p.opts.MetadataTTL {
		p.refreshAsync()
	}
	return parts, ids, nil
}

func (p *Producer) refreshAsync() {
	if !p.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.WriteTimeout)
		defer cancel()
		_ = p.refresh(ctx) // on failure the known layout stays in use
	}()
}

func (p *Producer) refresh(ctx context.Context) error {
	md, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, err)
	}
	var found *kafka.Topic
	for i := range md.Topics {
		if md.Topics[i].Name == p.topic {
			found = &md.Topics[i]
		}
	}
	if found == nil || len(found.Partitions) == 0 {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, kafka.UnknownTopicOrPartition)
	}
	if found.Error != nil {
		return fmt.Errorf("reading metadata of %s: %w", p.topic, found.Error)
	}
	n := 0
	for _, mp := range found.Partitions {
		n = max(n, mp.ID+1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n = max(n, len(p.parts))
	parts := make([]*partitionQueue, n)
	copy(parts, p.parts)
	leaders := make([]int32, n)
	copy(leaders, p.leaders)
	for i := len(p.parts); i < n; i++ {
		parts[i] = &partitionQueue{id: i}
	}
	for _, mp := range found.Partitions {
		leaders[mp.ID] = int32(mp.Leader.ID)
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	p.parts, p.ids, p.leaders, p.metaAt = parts, ids, leaders, time.Now()
	return nil
}
