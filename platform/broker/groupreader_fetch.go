package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/fetch"
	"go.uber.org/zap"
)

// fetchSlack is how long past MaxWait the client waits for a fetch answer
// before it gives up on the connection: long enough that a busy host answering
// late does not cost a reconnect (the kafka.Reader failure ReaderOptions.MaxWait
// describes), short enough that a dead connection is noticed.
const fetchSlack = 10 * time.Second

// failuresBeforeRegroup is how many fetch requests in a row may fail without a
// response before the loops are rebuilt on fresh metadata.
const failuresBeforeRegroup = 3

// errRegroup marks a fetch loop's request to rebuild the loops on fresh
// metadata (a partition's leader moved, or its broker stopped answering).
var errRegroup = errors.New("partition leadership changed")

// fetchPositions holds the next offset to fetch per assigned partition; a negative
// value (kafka.FirstOffset, kafka.LastOffset) still has to be resolved. Each
// partition is read and written by one fetch loop at a time.
type fetchPositions struct {
	mu   sync.Mutex
	next map[assignedPartition]int64
}

func (p *fetchPositions) get(k assignedPartition) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next[k]
}

func (p *fetchPositions) set(k assignedPartition, off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next[k] = off
}

// unresolved returns the partitions whose position is a start policy.
func (p *fetchPositions) unresolved() map[assignedPartition]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[assignedPartition]int64{}
	for k, off := range p.next {
		if off < 0 {
			out[k] = off
		}
	}
	return out
}

// consume fetches gen's partitions until gctx ends (the generation is over).
// It must not return before that: the first function started on a generation
// that returns ends the generation.
func (r *GroupReader) consume(gctx context.Context, gen *kafka.Generation, epoch uint64) {
	pos := &fetchPositions{next: map[assignedPartition]int64{}}
	for topic, parts := range gen.Assignments {
		for _, p := range parts {
			pos.next[assignedPartition{topic, p.ID}] = p.Offset
		}
	}
	if len(pos.next) == 0 {
		<-gctx.Done()
		return
	}
	bo := newBackOff(100*time.Millisecond, 5*time.Second)
	streak := 0
	for gctx.Err() == nil {
		started := time.Now()
		err := r.fetchAll(gctx, pos, epoch)
		if gctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			bo.Reset() // the previous layout worked for a while: this is a new incident
			streak = 0
		}
		r.stats.regroups.Add(1)
		delay := bo.NextBackOff()
		logAt := r.log.Warn
		if streak++; streak > 1 {
			logAt = r.log.Debug // once per streak at warn: an outage does not fill the log
		}
		logAt("rebuilding fetch loops on fresh metadata", zap.Duration("after", delay), zap.Error(err))
		if !waitOrDone(gctx, delay) {
			return
		}
		r.renewTransport()
	}
}

// fetchAll resolves start offsets, groups the partitions by leader and runs one
// fetch loop per leader broker, until ctx ends or a loop needs fresh metadata
// (its error is returned).
func (r *GroupReader) fetchAll(ctx context.Context, pos *fetchPositions, epoch uint64) error {
	c := r.client()
	if err := r.resolve(ctx, c, pos.unresolved(), pos); err != nil {
		return err
	}
	byLeader, addrs, err := leaders(ctx, c, pos)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(byLeader))
	var wg sync.WaitGroup
	for id, parts := range byLeader {
		conn := newFetchConn(addrs[id], clientID(r.cfg))
		wg.Go(func() {
			defer conn.close()
			errc <- r.fetchLoop(lctx, c, conn, parts, pos, epoch)
		})
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	wg.Wait()
	return err
}

// leaders groups the partitions of pos by leader broker id, and returns the
// address of each of those brokers, from one metadata answer.
func leaders(ctx context.Context, c *kafka.Client, pos *fetchPositions) (map[int][]assignedPartition, map[int]string, error) {
	pos.mu.Lock()
	want := map[string]bool{}
	for k := range pos.next {
		want[k.topic] = true
	}
	pos.mu.Unlock()
	meta, err := metadataOf(ctx, c, want)
	if err != nil {
		return nil, nil, err
	}
	leader, err := leadersOf(meta.Topics, want)
	if err != nil {
		return nil, nil, err
	}
	byLeader, err := groupByLeader(leader, pos)
	if err != nil {
		return nil, nil, err
	}
	addrs := map[int]string{}
	for _, t := range meta.Topics {
		for _, p := range t.Partitions {
			addrs[p.Leader.ID] = net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
		}
	}
	return byLeader, addrs, nil
}

// groupByLeader returns the partitions of pos per leader broker id, each list
// sorted, or an error naming a partition missing from leader.
func groupByLeader(leader map[assignedPartition]int, pos *fetchPositions) (map[int][]assignedPartition, error) {
	out := map[int][]assignedPartition{}
	pos.mu.Lock()
	defer pos.mu.Unlock()
	for k := range pos.next {
		id, ok := leader[k]
		if !ok {
			return nil, fmt.Errorf("no metadata for partition %s/%d", k.topic, k.partition)
		}
		out[id] = append(out[id], k)
	}
	for _, parts := range out {
		sort.Slice(parts, func(i, j int) bool {
			if parts[i].topic != parts[j].topic {
				return parts[i].topic < parts[j].topic
			}
			return parts[i].partition < parts[j].partition
		})
	}
	return out, nil
}

// partitionLeaders returns the leader broker id of every partition of the
// wanted topics, from c's metadata (cached by its transport), or an error
// naming a topic or partition that has none.
func partitionLeaders(ctx context.Context, c *kafka.Client, want map[string]bool) (map[assignedPartition]int, error) {
	meta, err := metadataOf(ctx, c, want)
	if err != nil {
		return nil, err
	}
	return leadersOf(meta.Topics, want)
}

// metadataOf reads the metadata of the wanted topics (cached by c's transport).
func metadataOf(ctx context.Context, c *kafka.Client, want map[string]bool) (*kafka.MetadataResponse, error) {
	topics := make([]string, 0, len(want))
	for t := range want {
		topics = append(topics, t)
	}
	meta, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	return meta, nil
}

// leadersOf is partitionLeaders' reading of a metadata answer.
func leadersOf(topics []kafka.Topic, want map[string]bool) (map[assignedPartition]int, error) {
	leader := map[assignedPartition]int{}
	for _, t := range topics {
		if !want[t.Name] {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" || p.Leader.ID < 0 {
				return nil, fmt.Errorf("partition %s/%d has no leader (%v)", t.Name, p.ID, p.Error)
			}
			leader[assignedPartition{t.Name, p.ID}] = p.Leader.ID
		}
	}
	return leader, nil
}

// resolve turns start policies (kafka.FirstOffset, kafka.LastOffset) into
// offsets, with one ListOffsets request per policy and leader broker.
func (r *GroupReader) resolve(ctx context.Context, c *kafka.Client, todo map[assignedPartition]int64, pos *fetchPositions) error {
	byPolicy := map[int64]map[string][]int{}
	for k, policy := range todo {
		if byPolicy[policy] == nil {
			byPolicy[policy] = map[string][]int{}
		}
		byPolicy[policy][k.topic] = append(byPolicy[policy][k.topic], k.partition)
	}
	for policy, parts := range byPolicy {
		offs, err := ListOffsets(ctx, c, parts, policy)
		if err != nil {
			return err
		}
		for topic, byPart := range offs {
			for p, off := range byPart {
				if off < 0 {
					return fmt.Errorf("listing offsets of %s/%d: no offset in answer", topic, p)
				}
				pos.set(assignedPartition{topic, p}, off)
			}
		}
	}
	return nil
}

// fetchLoop sends one fetch request at a time covering parts (all led by one
// broker) and queues what comes back, until ctx ends or a partition needs a
// new leader lookup. It never sends faster than the broker answers, and backs
// off after failures and after answers that brought nothing before MaxWait.
func (r *GroupReader) fetchLoop(ctx context.Context, c *kafka.Client, conn *fetchConn, parts []assignedPartition, pos *fetchPositions, epoch uint64) error {
	bo := newBackOff(50*time.Millisecond, max(r.opts.MaxWait, time.Second))
	failures, partErrs := 0, 0
	sess := &fetchSession{}
	dec := &recordDecoder{}
	for {
		req := sess.request(r.fetchRequest(parts, pos))
		started := time.Now()
		resp, err := conn.roundTrip(ctx, req, r.opts.MaxWait+fetchSlack)
		r.stats.fetches.Add(1)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			switch code := kafka.Error(resp.ErrorCode); code {
			case 0:
				if sess.answered(req, resp) {
					r.stats.sessions.Add(1)
				}
			case kafka.FetchSessionIDNotFound, kafka.InvalidFetchSessionEpoch:
				// Evicted or out of step: start a new session with a full fetch.
				r.stats.sessionResets.Add(1)
				sess.reset()
				continue
			default:
				err = code
			}
		}
		if err != nil {
			sess.reset() // the broker may or may not have moved the epoch on
			r.stats.fetchErrors.Add(1)
			if failures++; failures >= failuresBeforeRegroup {
				return fmt.Errorf("fetching (%d failures in a row): %w", failures, err)
			}
			r.log.Debug("fetch failed; retrying", zap.Int("attempt", failures), zap.Error(err))
			if !waitOrDone(ctx, bo.NextBackOff()) {
				return ctx.Err()
			}
			continue
		}
		failures = 0
		out := r.handle(ctx, c, dec, resp, pos, epoch)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if out.regroup != nil {
			return fmt.Errorf("%w: %w", errRegroup, out.regroup)
		}
		if out.records == 0 {
			r.stats.emptyFetches.Add(1)
		}
		var wait time.Duration
		switch {
		case out.partErr != nil:
			wait = bo.NextBackOff()
			logAt := r.log.Warn
			if partErrs++; partErrs > 1 {
				logAt = r.log.Debug // once per streak at warn
			}
			logAt("fetch returned a partition error; backing off", zap.Duration("after", wait), zap.Error(out.partErr))
		case out.records == 0 && time.Since(started) < r.opts.MaxWait/2:
			// An answer with nothing new that did not wait: never spin on it.
			wait = bo.NextBackOff()
		default:
			bo.Reset()
			partErrs = 0
		}
		wait = max(wait, time.Duration(resp.ThrottleTimeMs)*time.Millisecond)
		if wait > 0 && !waitOrDone(ctx, wait) {
			return ctx.Err()
		}
		if out.records > 0 && !r.waitTaken(ctx) {
			return ctx.Err()
		}
		if out.records > 0 && !out.behind && r.opts.Linger > 0 && !waitOrDone(ctx, r.opts.Linger) {
			return ctx.Err()
		}
	}
}

// waitTaken waits until FetchMessage has taken every queued batch (or ctx
// ends; it reports whether the queue emptied). The next fetch is sent while
// the caller works on the last batch it took, as franz-go fetches again once
// the previous fetch was polled: under load each fetch then carries what
// arrived while the caller was busy, instead of a stream of small fetches
// that return as soon as one record lands (MinBytes 1), each costing the
// broker a request. At low load the queue is empty at once, so it adds no
// latency.
func (r *GroupReader) waitTaken(ctx context.Context) bool {
	for len(r.queue) > 0 {
		select {
		case <-r.taken:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// fetchRequest builds one fetch request for parts at their current fetchPositions.
func (r *GroupReader) fetchRequest(parts []assignedPartition, pos *fetchPositions) *fetch.Request {
	req := &fetch.Request{
		ReplicaID:   -1,
		MaxWaitTime: int32(r.opts.MaxWait / time.Millisecond),
		MinBytes:    1,
		MaxBytes:    int32(r.opts.MaxBytes),
		// Session id 0 with epoch -1: a full fetch outside any fetch session
		// (fetchSession.request sets the session fields).
		SessionID:    0,
		SessionEpoch: -1,
	}
	for _, k := range parts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != k.topic {
			req.Topics = append(req.Topics, fetch.RequestTopic{Topic: k.topic})
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, fetch.RequestPartition{
			Partition:          int32(k.partition),
			CurrentLeaderEpoch: -1,
			FetchOffset:        pos.get(k),
			LogStartOffset:     -1,
			PartitionMaxBytes:  int32(r.opts.PartitionMaxBytes),
		})
	}
	return req
}

// fetchSession is a fetch loop's incremental fetch session (KIP-227), as
// franz-go and the Java consumer keep one per broker: the broker remembers the
// partitions and their fetch offsets, so a request lists only the partitions
// whose offset moved since the last one, and an answer only the partitions
// with new records (or an error). A full request and answer name every
// partition, and at a few records per fetch those empty entries are most of
// the bytes the broker reads and writes.
//
// A session the broker no longer knows (evicted from its cache, broker
// restarted) or a refused epoch is answered with a top-level error; the loop
// then resets and sends a full request that opens a new one. A loop's session
// is not closed when the loop ends (a generation ends, Close): the broker
// evicts unused sessions when its cache (max.incremental.fetch.session.cache.slots,
// 1000 by default) needs the room.
type fetchSession struct {
	id    int32                       // 0: none yet; the next request is full and opens one
	epoch int32                       // epoch of the next request
	sent  map[assignedPartition]int64 // fetch offsets the broker holds for the session
}

// request turns full, a request naming every partition at its position, into
// this session's next request: full and opening a session when there is none,
// else incremental, naming only the partitions whose position moved.
func (s *fetchSession) request(full *fetch.Request) *fetch.Request {
	if s.id == 0 {
		full.SessionID, full.SessionEpoch = 0, 0 // full, and open a session
		return full
	}
	full.SessionID, full.SessionEpoch = s.id, s.epoch
	topics := full.Topics[:0]
	for _, t := range full.Topics {
		parts := t.Partitions[:0]
		for _, p := range t.Partitions {
			if off, ok := s.sent[assignedPartition{t.Topic, int(p.Partition)}]; !ok || off != p.FetchOffset {
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			t.Partitions = parts
			topics = append(topics, t)
		}
	}
	full.Topics = topics // may be empty: nothing moved, the broker answers what arrived
	return full
}

// answered records a successful answer to req: the session it opened (or none,
// when the broker keeps no session for us: every request stays full), the next
// epoch, and the fetch offsets the broker now holds.
// It reports whether the answer opened a session.
func (s *fetchSession) answered(req *fetch.Request, res *fetchAnswer) (opened bool) {
	switch {
	case req.SessionID == 0 && res.SessionID == 0:
		return false // no session granted
	case req.SessionID == 0:
		s.id, s.epoch, s.sent = res.SessionID, 1, map[assignedPartition]int64{}
		opened = true
	default:
		if s.epoch == math.MaxInt32 {
			s.epoch = 1 // the broker wraps the same way
		} else {
			s.epoch++
		}
	}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			s.sent[assignedPartition{t.Topic, int(p.Partition)}] = p.FetchOffset
		}
	}
	return opened
}

// reset forgets the session: the next request is full and opens a new one.
func (s *fetchSession) reset() { *s = fetchSession{} }

// fetchOutcome is what handle made of one fetch response.
type fetchOutcome struct {
	behind  bool  // a partition has records past what this answer brought (a backlog)
	records int   // queued
	regroup error // a partition's leader must be looked up again
	partErr error // the last other partition error
}

// handle queues the records of resp per partition and moves the positions on.
// Offsets out of range are reset to the start policy here.
func (r *GroupReader) handle(ctx context.Context, c *kafka.Client, dec *recordDecoder, resp *fetchAnswer, pos *fetchPositions, epoch uint64) fetchOutcome {
	var out fetchOutcome
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			k := assignedPartition{t.Topic, int(p.Partition)}
			if p.ErrorCode != 0 {
				err := fmt.Errorf("fetching %s/%d: %w", k.topic, k.partition, kafka.Error(p.ErrorCode))
				switch actionFor(kafka.Error(p.ErrorCode)) {
				case actionReset:
					if rerr := r.reset(ctx, c, k, pos); rerr != nil {
						out.partErr = rerr
					}
				case actionRegroup:
					out.regroup = err
				default:
					out.partErr = err
				}
				continue
			}
			from := pos.get(k)
			msgs, next, err := dec.decodeRecords(k.topic, k.partition, p.HighWatermark, p.Records, from)
			if err != nil && len(msgs) == 0 {
				out.partErr = fmt.Errorf("decoding %s/%d at %d: %w", k.topic, k.partition, from, err)
			}
			if len(msgs) > 0 {
				select {
				case r.queue <- &fetchedBatch{epoch: epoch, msgs: msgs}:
				case <-ctx.Done():
					return out
				}
				out.records += len(msgs)
				r.stats.records.Add(int64(len(msgs)))
			}
			if next > from {
				pos.set(k, next)
			}
			if next < p.HighWatermark {
				out.behind = true
			}
		}
	}
	return out
}

// reset moves an out-of-range partition to the start policy.
func (r *GroupReader) reset(ctx context.Context, c *kafka.Client, k assignedPartition, pos *fetchPositions) error {
	from := pos.get(k)
	policy := kafka.FirstOffset
	if r.opts.StartAtLatest {
		policy = kafka.LastOffset
	}
	if err := r.resolve(ctx, c, map[assignedPartition]int64{k: policy}, pos); err != nil {
		return fmt.Errorf("resetting out-of-range offset of %s/%d: %w", k.topic, k.partition, err)
	}
	r.stats.offsetResets.Add(1)
	r.log.Warn("fetch offset out of range; reset to the start policy",
		zap.String("topic", k.topic), zap.Int("partition", k.partition),
		zap.Int64("from", from), zap.Int64("to", pos.get(k)), zap.Bool("latest", r.opts.StartAtLatest))
	return nil
}

// fetchAction is what a fetch loop does about a partition error code.
type fetchAction int

const (
	actionBackoff fetchAction = iota // retry the same request after a delay
	actionReset                      // offset out of range: apply the start policy
	actionRegroup                    // leadership: rebuild the loops on fresh metadata
)

func actionFor(code kafka.Error) fetchAction {
	switch code {
	case kafka.OffsetOutOfRange:
		return actionReset
	case kafka.NotLeaderForPartition, kafka.UnknownTopicOrPartition, kafka.LeaderNotAvailable,
		kafka.ReplicaNotAvailable, kafka.FencedLeaderEpoch, kafka.UnknownLeaderEpoch,
		kafka.KafkaStorageError, kafka.OffsetNotAvailable, kafka.PreferredLeaderNotAvailable:
		return actionRegroup
	default:
		return actionBackoff
	}
}

// newBackOff returns a delay doubling from lo up to hi, each wait jittered by
// ±50 % (cenkalti/backoff/v5, as FetchRetrying) so that the members of a group
// do not retry in step; Reset starts over at lo.
func newBackOff(lo, hi time.Duration) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval: lo, MaxInterval: hi, Multiplier: 2,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
	}
}

// waitOrDone waits d or until ctx ends; it reports whether d passed.
func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
