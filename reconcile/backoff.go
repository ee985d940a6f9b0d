package reconcile

import "time"

// Backoff is the capped, jittered exponential backoff of failed runs.
type Backoff struct {
	// Base is the first delay; each further failure doubles it, up to Cap.
	Base, Cap time.Duration
	// Jitter is the fraction of the delay drawn at random (0 to 1): the
	// delay is d·(1−Jitter·r) for r in [0,1).
	Jitter float64
}

// DefaultBackoff starts at 30 s and caps at one hour, with 20% jitter.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Cap: time.Hour, Jitter: 0.2}

// Delay returns the delay after the n-th consecutive failure (n ≥ 1), given
// a random draw r in [0,1) and the server's Retry-After (0 if none).
func (b Backoff) Delay(n int, r float64, retryAfter time.Duration) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Cap; i++ {
		d *= 2
	}
	d = min(d, b.Cap)
	d -= time.Duration(float64(d) * b.Jitter * r)
	return max(d, retryAfter)
}
