package auth

import "time"

// SetClock replaces the guard's clock (tests of the TTL).
func (g *ReplayGuard) SetClock(now func() time.Time) { g.now = now }
