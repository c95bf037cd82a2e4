package inflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Held is a claim this owner holds; Release deletes it if it is still ours.
type Held struct {
	Key   string
	Value string
}

// Stale is a claim left by a crashed or failed attempt (ours or another owner's
// whose lease ran out): the events it covers may be in the canonical topic
// without dedup marks.
type Stale struct {
	Key   string
	Value string
	// From holds lower bounds of the canonical topic's end offsets, per partition,
	// taken before the attempt produced anything.
	From map[int]int64
}

// Result is the outcome of Claim. Either Held is filled (every partition claimed),
// or Stale and/or Busy say why nothing was claimed.
type Result struct {
	Held  []Held
	Stale []Stale
	// Busy is the longest remaining lease among claims held by other live owners.
	Busy time.Duration
}

// ErrBadClaim is returned when a stored claim does not parse.
var ErrBadClaim = errors.New("malformed in-flight claim")

// claimScript claims all KEYS for ARGV[1] (owner) or none. For each key it reads the
// current claim "atMillis|owner|payload": a live foreign claim makes the result
// busy, an own or expired one is returned as stale; only when every key is free are
// they all set. Redis TIME is the clock, so owners on different hosts agree.
var claimScript = redis.NewScript(`
local owner, lease, payload, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local res, free = {}, true
for i, k in ipairs(KEYS) do
  local old = redis.call('GET', k)
  if old then
    free = false
    local at, who = string.match(old, '^(%d+)|([^|]*)|')
    at = tonumber(at) or 0
    if who ~= owner and now - at < lease then
      res[i] = '~' .. tostring(lease - (now - at))
    else
      res[i] = '!' .. old
    end
  else
    res[i] = ''
  end
end
if free then
  local v = tostring(now) .. '|' .. owner .. '|' .. payload
  for i, k in ipairs(KEYS) do
    redis.call('SET', k, v, 'EX', ttl)
    res[i] = '+' .. v
  end
end
return res
`)

// releaseScript deletes each KEYS[i] whose value is still ARGV[i].
var releaseScript = redis.NewScript(`
local n = 0
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[i] then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
`)

// Claims stores claims in Redis under "{prefix}f:{raw topic}:{partition}", as
// "{redis time ms}|{owner}|{offsets JSON}".
type Claims struct {
	rdb    redis.UniversalClient
	prefix string
	owner  string
	lease  time.Duration
	ttl    time.Duration
}

// NewClaims returns a claim store for owner (unique per process). lease is how long
// a claim protects a batch in flight; ttl how long an abandoned claim is kept for
// recovery (use the dedup TTL: after it, dedup could not help anyway).
func NewClaims(rdb redis.UniversalClient, prefix, owner string, lease, ttl time.Duration) *Claims {
	return &Claims{rdb: rdb, prefix: prefix, owner: owner, lease: lease, ttl: ttl}
}

// Lease is the configured lease.
func (c *Claims) Lease() time.Duration { return c.lease }

// Claim claims every raw partition in parts ("topic:partition") for this owner,
// recording from (lower bounds of the canonical topic's end offsets) in the claim,
// all or nothing, in one round trip.
func (c *Claims) Claim(ctx context.Context, parts []string, from map[int]int64) (Result, error) {
	if len(parts) == 0 {
		return Result{}, nil
	}
	pipe := c.rdb.Pipeline()
	res, err := c.ClaimIn(ctx, pipe, parts, from)
	if err != nil {
		return Result{}, err
	}
	_, _ = pipe.Exec(ctx)
	return res()
}

// ClaimIn queues Claim on pipe, so that reads queued after it share its round trip
// and run after it (Redis runs one connection's commands in order). The returned
// function gives the result once pipe ran. The script is sent with EVAL: EVALSHA
// in a pipeline cannot fall back when Redis lost its script cache.
func (c *Claims) ClaimIn(ctx context.Context, pipe redis.Pipeliner, parts []string, from map[int]int64) (func() (Result, error), error) {
	if len(parts) == 0 {
		return func() (Result, error) { return Result{}, nil }, nil
	}
	keys := make([]string, len(parts))
	for i, p := range parts {
		keys[i] = c.prefix + "f:" + p
	}
	payload, err := json.Marshal(from)
	if err != nil {
		return nil, fmt.Errorf("encoding claim: %w", err)
	}
	ttl := max(int64(c.ttl/time.Second), 1)
	cmd := claimScript.Eval(ctx, pipe, keys, c.owner, c.lease.Milliseconds(), string(payload), ttl)
	return func() (Result, error) {
		var res Result
		vals, err := cmd.StringSlice()
		if err != nil {
			return res, fmt.Errorf("claiming raw partitions: %w", err)
		}
		for i, v := range vals {
			switch {
			case strings.HasPrefix(v, "+"):
				res.Held = append(res.Held, Held{Key: keys[i], Value: v[1:]})
			case strings.HasPrefix(v, "~"):
				ms, _ := strconv.ParseInt(v[1:], 10, 64)
				res.Busy = max(res.Busy, time.Duration(ms)*time.Millisecond)
			case strings.HasPrefix(v, "!"):
				s, err := parseStale(keys[i], v[1:])
				if err != nil {
					return res, err
				}
				res.Stale = append(res.Stale, s)
			}
		}
		return res, nil
	}, nil
}

func parseStale(key, value string) (Stale, error) {
	parts := strings.SplitN(value, "|", 3)
	if len(parts) != 3 {
		return Stale{}, fmt.Errorf("%w: %s", ErrBadClaim, key)
	}
	s := Stale{Key: key, Value: value}
	if err := json.Unmarshal([]byte(parts[2]), &s.From); err != nil {
		return Stale{}, fmt.Errorf("%w: %s: %v", ErrBadClaim, key, err)
	}
	return s, nil
}

// Release deletes the held claims that are still ours, in one round trip.
func (c *Claims) Release(ctx context.Context, held []Held) error {
	if len(held) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	c.ReleaseIn(ctx, pipe, held)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("releasing in-flight claims: %w", err)
	}
	return nil
}

// ReleaseIn queues Release on pipe. Queue it last in a MULTI (TxPipeline) after the
// writes it depends on (dedup marks, state): a write Redis refuses (out of memory,
// read-only replica) then aborts the whole transaction, so a claim is never
// released while the marks it protects are missing.
func (c *Claims) ReleaseIn(ctx context.Context, pipe redis.Pipeliner, held []Held) {
	if len(held) == 0 {
		return
	}
	keys, vals := make([]string, len(held)), make([]any, len(held))
	for i, h := range held {
		keys[i], vals[i] = h.Key, h.Value
	}
	releaseScript.Eval(ctx, pipe, keys, vals...)
}

// Drop deletes stale claims once their events are marked, unless someone replaced
// them meanwhile.
func (c *Claims) Drop(ctx context.Context, stale []Stale) error {
	held := make([]Held, len(stale))
	for i, s := range stale {
		held[i] = Held{Key: s.Key, Value: s.Value}
	}
	return c.Release(ctx, held)
}
