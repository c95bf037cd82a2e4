package auth

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// ReplayGuard remembers, for each webhookId accepted under a signature that
// does not cover the body, a hash of the body it came with, and refuses the
// same webhookId with a different body (ErrReplay). The same id with the same
// body passes: that is the provider retrying.
//
// Limits, by design: it is in memory and per process, so a forged body sent to
// another gateway replica, or after a restart, or after the id fell out of the
// window is not caught; it holds at most Size ids (least recently seen evicted
// first, about 150 bytes each: ids and bodies are kept as SHA-256 hashes, so a
// long id costs no more) for at most TTL. It narrows the weak variants' hole
// (one captured signature replayed with any body), it does not close it: only
// a signature over the body does.
type ReplayGuard struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	order *list.List // of *replayEntry, most recently seen at the front
	byID  map[[sha256.Size]byte]*list.Element
}

type replayEntry struct {
	id   [sha256.Size]byte
	body [sha256.Size]byte
	at   time.Time
}

// Defaults for NewReplayGuard.
const (
	DefaultReplaySize = 100_000
	DefaultReplayTTL  = 72 * time.Hour
)

// NewReplayGuard returns a guard holding at most size ids for at most ttl
// (size <= 0 and ttl <= 0 take the defaults: 100,000 ids ≈ 15 MB, 72 h).
func NewReplayGuard(size int, ttl time.Duration) *ReplayGuard {
	if size <= 0 {
		size = DefaultReplaySize
	}
	if ttl <= 0 {
		ttl = DefaultReplayTTL
	}
	return &ReplayGuard{size: size, ttl: ttl, now: time.Now, order: list.New(), byID: map[[sha256.Size]byte]*list.Element{}}
}

// Check records id with body, or returns ErrReplay when id was seen within the
// window with a different body (the entry is kept: the first body wins).
func (g *ReplayGuard) Check(id string, body []byte) error {
	key := sha256.Sum256([]byte(id))
	sum := sha256.Sum256(body)
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if el, ok := g.byID[key]; ok {
		e := el.Value.(*replayEntry)
		if now.Sub(e.at) <= g.ttl {
			if e.body != sum {
				return ErrReplay
			}
			g.order.MoveToFront(el)
			return nil
		}
		g.order.Remove(el)
		delete(g.byID, key)
	}
	g.byID[key] = g.order.PushFront(&replayEntry{id: key, body: sum, at: now})
	for g.order.Len() > g.size {
		old := g.order.Back()
		g.order.Remove(old)
		delete(g.byID, old.Value.(*replayEntry).id)
	}
	return nil
}

// Len is the number of ids held.
func (g *ReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.order.Len()
}
