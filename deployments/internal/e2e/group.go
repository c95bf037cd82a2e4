package e2e

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// Group returns the consumer group of svc's instances in this run.
func (p *Pipeline) Group(svc string) string { return "e2e." + p.Cfg.RunID + "." + svc }

// groupShares describes a consumer group at the broker: its state and, per
// member, how many partitions of topic it holds (sorted, largest first).
func groupShares(ctx context.Context, brokers []string, group, topic string) (string, []int, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	resp, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return "", nil, fmt.Errorf("describing group %s: %w", group, err)
	}
	if len(resp.Groups) != 1 {
		return "", nil, fmt.Errorf("describing group %s: %d groups in the answer", group, len(resp.Groups))
	}
	g := resp.Groups[0]
	if g.Error != nil {
		return "", nil, fmt.Errorf("describing group %s: %w", group, g.Error)
	}
	shares := make([]int, 0, len(g.Members))
	for _, m := range g.Members {
		n := 0
		for _, t := range m.MemberAssignments.Topics {
			if t.Topic == topic {
				n += len(t.Partitions)
			}
		}
		shares = append(shares, n)
	}
	slices.SortFunc(shares, func(a, b int) int { return b - a })
	return g.GroupState, shares, nil
}

// waitGroup polls the group until it is Stable with n members that each hold
// at least one partition of topic, and returns how long that took from since
// and the shares. It fails after limit.
func waitGroup(ctx context.Context, brokers []string, group, topic string, n int, since time.Time, limit time.Duration) (time.Duration, []int, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var (
		state  string
		shares []int
		err    error
	)
	for {
		state, shares, err = groupShares(ctx, brokers, group, topic)
		if err == nil && state == "Stable" && len(shares) == n && shares[n-1] > 0 {
			return time.Since(since), shares, nil
		}
		select {
		case <-ctx.Done():
			return 0, shares, fmt.Errorf("group %s not stable with %d members holding partitions of %s after %s (state %q, shares %v, last error %v)",
				group, n, topic, limit, state, shares, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
