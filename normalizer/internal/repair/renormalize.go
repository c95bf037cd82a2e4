package repair

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/consume"
	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/multi"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/normalizer/internal/topicscan"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// RenormalizeConfig selects the range a renormalize reads.
type RenormalizeConfig struct {
	RawTopic, CanonicalTopic string
	// Since is required; Until, when zero, is the end of the raw topic.
	Since, Until time.Time
	// Provider, when set, keeps only that provider's records.
	Provider string
	// DryRun compares and counts without producing or writing anything.
	DryRun bool
	// BatchSize is the records per Redis round trip and produce. Default 500.
	BatchSize int
	// CheckpointTTL is how long a run's checkpoint is kept. Default 30 days.
	CheckpointTTL time.Duration
}

// RenormalizeCounts are a renormalize's progress. Records: Read, NoIndex (the
// lookup index has no entry: expired, or no request id), Dead (dead-lettered
// then, or unmappable now: redrive's business), Redelivered (a re-delivery
// dropped by dedup: it produced no event of its own, the one it repeated is
// renormalized through its own record), Skipped (other provider).
// Events: Unchanged, Corrected, Unmatched (a new event with no earlier
// counterpart, left alone).
type RenormalizeCounts struct {
	Read, NoIndex, Dead, Skipped    int
	Redelivered                     int
	Unchanged, Corrected, Unmatched int
	// AlreadyCorrected were emitted by an earlier, interrupted run of the range.
	AlreadyCorrected int
	// Scan is how far the run is through the range's offsets (from the
	// checkpoint, when it resumes).
	Scan Position
}

// Renormalizer runs one renormalize.
type Renormalizer struct {
	cfg       RenormalizeConfig
	scan      *topicscan.Client
	producer  Producer
	rdb       redis.UniversalClient
	prefix    string
	normalize NormalizeFunc
	store     *lookup.Store
	index     *lookup.Index
	dedup     Deduper
	states    States
	now       func() time.Time
	// Progress, when set, is called after each batch with the counts so far.
	Progress func(RenormalizeCounts)
}

// RenormalizeDeps are the stores a renormalize reads and writes: the live
// normalizer's own (same Redis prefix), so corrections follow its dedup and state
// rules.
type RenormalizeDeps struct {
	Producer  Producer
	Redis     redis.UniversalClient
	Prefix    string
	Normalize NormalizeFunc // nil: adapter.Normalize
	Store     *lookup.Store
	Index     *lookup.Index
	Dedup     Deduper
	States    States
}

// NewRenormalizer checks cfg and deps.
func NewRenormalizer(cfg RenormalizeConfig, brokers []string, d RenormalizeDeps) (*Renormalizer, error) {
	if cfg.RawTopic == "" || cfg.CanonicalTopic == "" {
		return nil, errors.New("renormalize: raw and canonical topics are required")
	}
	if cfg.Since.IsZero() {
		return nil, errors.New("renormalize: --since is required")
	}
	if !cfg.Until.IsZero() && !cfg.Until.After(cfg.Since) {
		return nil, errors.New("renormalize: --until must be after --since")
	}
	if d.Redis == nil || d.Store == nil || d.Dedup == nil || d.States == nil || (d.Producer == nil && !cfg.DryRun) {
		return nil, errors.New("renormalize: missing dependency")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.CheckpointTTL <= 0 {
		cfg.CheckpointTTL = 30 * 24 * time.Hour
	}
	if d.Normalize == nil {
		d.Normalize = adapter.Normalize
	}
	return &Renormalizer{cfg: cfg, scan: topicscan.New(brokers, 10*time.Second), producer: d.Producer, rdb: d.Redis,
		prefix: d.Prefix, normalize: d.Normalize, store: d.Store, index: d.Index, dedup: d.Dedup, states: d.States, now: time.Now}, nil
}

// CheckpointKey is the Redis hash holding a run's next offset per partition; a run
// over the same topic, range and provider resumes from it.
func (r *Renormalizer) CheckpointKey() string {
	until := ""
	if !r.cfg.Until.IsZero() {
		until = r.cfg.Until.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(r.cfg.RawTopic + "|" + r.cfg.Since.UTC().Format(time.RFC3339Nano) + "|" + until + "|" + r.cfg.Provider))
	return r.prefix + "rn:" + hex.EncodeToString(sum[:8])
}

// Run reads the range partition by partition and returns the counts.
func (r *Renormalizer) Run(ctx context.Context) (RenormalizeCounts, error) {
	var n RenormalizeCounts
	topic := r.cfg.RawTopic
	parts, err := r.scan.Partitions(ctx, topic)
	if err != nil {
		return n, err
	}
	from, err := r.scan.OffsetsAt(ctx, topic, parts, r.cfg.Since)
	if err != nil {
		return n, err
	}
	var to map[int]int64
	if r.cfg.Until.IsZero() {
		b, err := r.scan.Bounds(ctx, topic, parts)
		if err != nil {
			return n, err
		}
		to = map[int]int64{}
		for p, x := range b {
			to[p] = x.End
		}
	} else if to, err = r.scan.OffsetsAt(ctx, topic, parts, r.cfg.Until); err != nil {
		return n, err
	}
	if !r.cfg.DryRun {
		cp, err := r.rdb.HGetAll(ctx, r.CheckpointKey()).Result()
		if err != nil {
			return n, fmt.Errorf("reading renormalize checkpoint: %w", err)
		}
		for p := range from {
			if v, ok := cp[strconv.Itoa(p)]; ok {
				if off, err := strconv.ParseInt(v, 10, 64); err == nil && off > from[p] {
					from[p] = off
				}
			}
		}
	}
	n.Scan.Total = span(parts, from, to)
	for _, p := range parts {
		base := n.Scan.Done
		err := r.scan.RangeBatches(ctx, topic, p, from[p], to[p], r.cfg.BatchSize, nil, func(batch []kafka.Message) error {
			err := r.batch(ctx, p, batch, &n)
			if err == nil {
				n.Scan.Done = base + batch[len(batch)-1].Offset + 1 - from[p]
			}
			if r.Progress != nil {
				r.Progress(n)
			}
			return err
		})
		if err != nil {
			return n, err
		}
		n.Scan.Done = base + max(0, to[p]-from[p])
	}
	return n, nil
}

// correction is one event to emit, with the raw record it corrects.
type correction struct {
	raw kafka.Message
	ev  shipment.Event
}

func (r *Renormalizer) batch(ctx context.Context, part int, msgs []kafka.Message, n *RenormalizeCounts) error {
	type mapped struct {
		m    kafka.Message
		outs []adapter.Output
	}
	var work []mapped
	var reqs []string
	for _, m := range msgs {
		n.Read++
		rec := consume.RawRecord(m)
		if r.cfg.Provider != "" && rec.Provider != r.cfg.Provider {
			n.Skipped++
			continue
		}
		if rec.RequestID == "" {
			n.NoIndex++
			continue
		}
		outs, err := normalizeSafe(r.normalize, rec)
		if err != nil || !maps(outs) {
			n.Dead++
			continue
		}
		work = append(work, mapped{m, outs})
		reqs = append(reqs, rec.RequestID)
	}
	var fixes []correction
	if len(work) > 0 {
		pipe := r.rdb.Pipeline()
		res := r.store.WebhooksIn(ctx, pipe, reqs)
		_, _ = pipe.Exec(ctx)
		hooks, err := res()
		if err != nil {
			return err
		}
		for i, w := range work {
			h := hooks[i]
			switch {
			case h == nil:
				n.NoIndex++
				continue
			case len(h.Events) == 0 && len(h.DuplicateOf) > 0:
				n.Redelivered++
				continue
			case len(h.Events) == 0:
				n.Dead++
				continue
			}
			fixes = append(fixes, compare(w.m, w.outs, h, n)...)
		}
	}
	return r.emit(ctx, part, msgs, fixes, n)
}

// compare matches each new output with the event the index says the record
// produced: by event id (an unchanged dedup key gives the same id), else the
// next unmatched original event of the same shipment in time order. An output
// whose mapping (status, sub_status, terminal) differs from the latest version of
// its counterpart becomes a correction of that version.
func compare(raw kafka.Message, outs []adapter.Output, h *lookup.Webhook, n *RenormalizeCounts) []correction {
	byID := map[string]lookup.Event{}
	correctedBy := map[string]string{}
	var originals []lookup.Event
	for _, e := range h.Events {
		byID[e.ID] = e
		if e.Corrects != "" {
			correctedBy[e.Corrects] = e.ID
		} else {
			originals = append(originals, e)
		}
	}
	used := map[string]bool{}
	var out []correction
	for _, o := range outs {
		orig, ok := byID[o.Event.ID]
		if ok && orig.Corrects == "" && !used[orig.ID] {
			used[orig.ID] = true
		} else {
			ok = false
			for _, e := range originals {
				if !used[e.ID] && e.Subject == o.Event.Subject {
					orig, ok = e, true
					used[e.ID] = true
					break
				}
			}
		}
		if !ok {
			n.Unmatched++
			continue
		}
		latest := orig
		for seen := 0; seen < len(h.Events); seen++ {
			next, ok := correctedBy[latest.ID]
			if !ok {
				break
			}
			latest = byID[next]
		}
		d := &o.Event.Data
		if string(d.Status) == latest.Status && d.SubStatus == latest.SubStatus && d.Terminal == latest.Terminal {
			n.Unchanged++
			continue
		}
		ev := o.Event
		ev.ID = CorrectionID(latest.ID, &ev)
		ev.Data.Corrects = latest.ID
		out = append(out, correction{raw: raw, ev: ev})
	}
	return out
}

// CorrectionID is the id of the event correcting the event id with ev's mapping:
// EventID(id + "#correction:" + fingerprint of status, sub_status and terminal).
// The same fix of the same event always gets the same id, so consumers and the
// dedup store see it once however often the range is renormalized; a later,
// different fix gets a new id and corrects the correction.
func CorrectionID(id string, ev *shipment.Event) string {
	fp := string(ev.Data.Status) + "|" + ev.Data.SubStatus + "|" + strconv.FormatBool(ev.Data.Terminal)
	return shipment.EventID(id + "#correction:" + fp)
}

func (r *Renormalizer) emit(ctx context.Context, part int, msgs []kafka.Message, fixes []correction, n *RenormalizeCounts) error {
	var ids, subjects []string
	subjIdx := map[string]int{}
	for _, f := range fixes {
		ids = append(ids, f.ev.ID)
		if _, ok := subjIdx[f.ev.Subject]; !ok {
			subjIdx[f.ev.Subject] = len(subjects)
			subjects = append(subjects, f.ev.Subject)
		}
	}
	pipe := r.rdb.Pipeline()
	seenRes := r.dedup.SeenIn(ctx, pipe, ids)
	curRes := r.states.GetIn(ctx, pipe, subjects)
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx)
	}
	seen, err := seenRes()
	if err != nil {
		return err
	}
	cur, err := curRes()
	if err != nil {
		return err
	}
	changed := map[string]*state.Shipment{}
	var out []kafka.Message
	var produced []*correction
	for i := range fixes {
		f := &fixes[i]
		if seen[i] {
			n.AlreadyCorrected++
			continue
		}
		// A correction is applied as a new event with the live rule: it advances the
		// shipment when the rule says so (e.g. an unknown that is now "delivered" and
		// not older than the current state), and is emitted with advances=false
		// otherwise.
		si := subjIdx[f.ev.Subject]
		next, adv := state.Apply(cur[si], &f.ev)
		if next != cur[si] {
			cur[si] = next
			changed[f.ev.Subject] = next
		}
		f.ev.Data.Advances = adv
		n.Corrected++
		if r.cfg.DryRun {
			continue
		}
		m, err := canonicalMessage(r.cfg.CanonicalTopic, &f.ev, f.raw)
		if err != nil {
			return err
		}
		out = append(out, m)
		produced = append(produced, f)
	}
	if r.cfg.DryRun {
		return nil
	}
	if len(out) > 0 {
		if err := r.producer.WriteMessages(ctx, out...); err != nil {
			return fmt.Errorf("producing %d corrections: %w", len(out), err)
		}
	}
	// State, dedup marks, index and the checkpoint in one transaction, after the
	// corrections are acknowledged: a crash before it re-emits the same ids (at
	// least once, like the live consumer's dead letters; consumers dedup on ce_id).
	pipe = r.rdb.Pipeline()
	tx := multi.Begin(ctx, pipe)
	if err := r.states.PutIn(ctx, pipe, changed); err != nil {
		return err
	}
	pids := make([]string, len(produced))
	b := r.index.Batch()
	for i, f := range produced {
		pids[i] = f.ev.ID
		b.Event(f.raw, &f.ev)
	}
	r.dedup.MarkIn(ctx, pipe, pids)
	b.Queue(ctx, pipe)
	if len(msgs) > 0 {
		k := r.CheckpointKey()
		pipe.Do(ctx, "hset", k, strconv.Itoa(part), msgs[len(msgs)-1].Offset+1)
		pipe.Do(ctx, "pexpire", k, r.cfg.CheckpointTTL.Milliseconds())
	}
	tx.End(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	if err := tx.Err(); err != nil {
		return fmt.Errorf("writing state, dedup marks, index and checkpoint: %w", err)
	}
	return nil
}

// canonicalMessage is ev as a canonical record with the header contract of the
// live consumer (schemas.HeaderEventID and the rest).
func canonicalMessage(topic string, ev *shipment.Event, raw kafka.Message) (kafka.Message, error) {
	v, err := json.Marshal(ev)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encoding correction %s: %w", ev.ID, err)
	}
	src := lookup.Location{Topic: raw.Topic, Partition: raw.Partition, Offset: raw.Offset}.String()
	return kafka.Message{
		Topic: topic, Key: []byte(ev.Subject), Value: v,
		Headers: []kafka.Header{
			{Key: schemas.HeaderEventID, Value: []byte(ev.ID)},
			{Key: schemas.HeaderEventType, Value: []byte(ev.Type)},
			{Key: schemas.HeaderEventSource, Value: []byte(ev.Source)},
			{Key: schemas.HeaderEventContentType, Value: []byte(schemas.ContentTypeCloudEvents)},
			{Key: schemas.HeaderProvider, Value: []byte(ev.Data.Provider)},
			{Key: schemas.HeaderStatus, Value: []byte(ev.Data.Status)},
			{Key: schemas.HeaderAdvances, Value: []byte(strconv.FormatBool(ev.Data.Advances))},
			{Key: schemas.HeaderRawSource, Value: []byte(src)},
		},
	}, nil
}
