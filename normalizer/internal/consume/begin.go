package consume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/courierhook/pipeline/normalizer/internal/dedup"
	"github.com/courierhook/pipeline/normalizer/internal/inflight"
	"github.com/courierhook/pipeline/normalizer/internal/state"
)

// recoveryScanTimeout bounds one scan of the canonical topic during recovery.
const recoveryScanTimeout = 2 * time.Minute

// begun is what begin read for a batch under its claims.
type begun struct {
	held []inflight.Held
	seen []bool
	cur  []*state.Shipment
	// window holds, per unqualified id of the batch's repeatable events, the
	// receive time (Unix ms) and final id of its last arrival that was not a
	// re-delivery, when remembered.
	window map[string]dedup.WindowMark
	// recoveredFrom maps the events a recovery in this begin marked to the raw
	// record each was made from: a record of the batch finding its own event
	// marked is not a re-delivery (its attempt produced it and crashed, or its
	// produce landed unacknowledged), and is indexed as the event's source.
	recoveredFrom map[string]string
	// at is when the claim was sent: the attempt's lease runs from then.
	at time.Time
}

// queueBegin queues b's claim and, after it, the dedup check and the state read
// on pipe. The returned function reads the answers once pipe ran; begun is valid
// only when the result holds every claim (no stale or busy one).
func (c *Consumer) queueBegin(ctx context.Context, pipe redis.Pipeliner, b *batch) (func() (begun, inflight.Result, error), error) {
	at := c.now()
	claimRes, err := c.d.Claims.ClaimIn(ctx, pipe, b.parts, c.d.Recovery.Offsets())
	if err != nil {
		return nil, err
	}
	seenRes := c.d.Dedup.SeenIn(ctx, pipe, b.ids)
	curRes := c.d.States.GetIn(ctx, pipe, b.subjects)
	var winIDs []string
	if b.repeatable > 0 {
		winIDs = b.repeatableIDs()
	}
	winRes := c.d.Dedup.ReceivedIn(ctx, pipe, winIDs)
	return func() (begun, inflight.Result, error) {
		res, err := claimRes()
		if err != nil {
			return begun{}, res, failed(StepClaim, err)
		}
		if len(res.Stale) > 0 || res.Busy > 0 {
			return begun{}, res, nil
		}
		bg := begun{held: res.Held, at: at}
		if bg.seen, err = seenRes(); err != nil {
			return begun{}, res, failed(StepDedupCheck, err)
		}
		if bg.cur, err = curRes(); err != nil {
			return begun{}, res, failed(StepStateRead, err)
		}
		win, err := winRes()
		if err != nil {
			return begun{}, res, failed(StepDedupCheck, err)
		}
		for i, m := range win {
			if m.At > 0 {
				if bg.window == nil {
					bg.window = map[string]dedup.WindowMark{}
				}
				bg.window[winIDs[i]] = m
			}
		}
		if len(bg.seen) != len(b.ids) || len(bg.cur) != len(b.subjects) {
			return begun{}, res, failed(StepDedupCheck, errors.New("short answer from redis"))
		}
		return bg, res, nil
	}, nil
}

// begin claims the batch's raw partitions and, in the same round trip and after
// the claim, checks the dedup marks and reads the shipments' state. A stale claim
// (an attempt that may have produced without marking) is recovered first and the
// round trip repeated, so the reads always follow a recovery.
func (c *Consumer) begin(ctx context.Context, b *batch) (begun, int, error) {
	recovered := 0
	var from map[string]string
	for {
		rctx, cancel := c.redis(ctx)
		pipe := c.d.Redis.Pipeline()
		answer, err := c.queueBegin(rctx, pipe, b)
		if err != nil {
			cancel()
			return begun{}, recovered, failed(StepClaim, err)
		}
		_, _ = pipe.Exec(rctx) // each command carries its own error
		cancel()
		bg, res, err := answer()
		if err != nil {
			return begun{}, recovered, err
		}
		if len(res.Stale) == 0 && res.Busy == 0 {
			bg.recoveredFrom = from
			return bg, recovered, nil
		}
		if len(res.Stale) == 0 {
			return begun{}, recovered, failed(StepClaimBusy, fmt.Errorf("%w (lease left %s)", ErrPartitionBusy, res.Busy))
		}
		recs, err := c.recover(ctx, res.Stale)
		recovered += len(recs)
		if err != nil {
			return begun{}, recovered, failed(StepRecover, err)
		}
		for _, r := range recs {
			if from == nil {
				from = make(map[string]string, len(recs))
			}
			from[r.ID] = r.RawSource
		}
	}
}

// recover marks every event id the canonical topic holds since the stale claims'
// offsets, then drops the claims.
func (c *Consumer) recover(ctx context.Context, stale []inflight.Stale) ([]inflight.Recovered, error) {
	from := map[int]int64{}
	first := true
	for _, s := range stale {
		if first {
			for p, o := range s.From {
				from[p] = o
			}
			first = false
			continue
		}
		for p := range from {
			o, ok := s.From[p]
			if !ok {
				delete(from, p) // unknown for one claim: scan that partition from its start
				continue
			}
			from[p] = min(from[p], o)
		}
	}
	// Bounded, so a broker problem during the scan fails this attempt (logged,
	// counted, retried with backoff) instead of hanging the batch silently.
	sctx, cancel := context.WithTimeout(ctx, recoveryScanTimeout)
	recs, err := c.d.Recovery.Scan(sctx, from)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("scanning canonical topic: %w", err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	for chunk := range chunks(ids, 5000) {
		rctx, cancel := c.redis(ctx)
		err := c.d.Dedup.Mark(rctx, chunk)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	rctx, cancel := c.redis(ctx)
	defer cancel()
	if err := c.d.Claims.Drop(rctx, stale); err != nil {
		return nil, err
	}
	c.log.Info("recovered abandoned in-flight claims", zap.Int("claims", len(stale)), zap.Int("marked", len(ids)))
	return recs, nil
}

func chunks(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
