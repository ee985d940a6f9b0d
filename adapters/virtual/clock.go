package virtual

import (
	"fmt"
	"sync"
	"time"
)

// Epoch is where a [Clock] starts unless told otherwise: a fixed instant, so
// that transcripts and timestamps are the same on every run.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a virtual clock: time stands still until [Clock.Advance] or
// [Clock.Set] moves it. Its Now method value is what every component of this
// module takes as its clock (emulator.WithClock, issuer.Config.Now and
// issuer.WithClientClock, vitalsdk.Options.Now, sqlite.WithClock,
// reconcile.Config.Now), so one Clock is the only source of time in a test.
//
// The zero value reads [Epoch]. A Clock is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time // zero means Epoch
	waiters []waiter
}

// waiter is one pending [Clock.After].
type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock that reads start (in UTC) until moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start.UTC()} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read()
}

// read returns the reading. The caller holds c.mu.
func (c *Clock) read() time.Time {
	if c.now.IsZero() {
		return Epoch
	}
	return c.now
}

// Advance moves the clock forward by d, fires the [Clock.After] channels
// whose time has come, and returns the new reading. It panics if d is
// negative: a virtual clock that runs backwards is a test bug (use
// [Clock.Set] to jump on purpose).
func (c *Clock) Advance(d time.Duration) time.Time {
	if d < 0 {
		panic(fmt.Sprintf("virtual: Clock.Advance(%v): negative", d))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.read().Add(d)
	c.fire()
	return c.now
}

// Set sets the clock to t (in UTC), backwards or forwards, and fires the
// [Clock.After] channels whose time has come.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC()
	c.fire()
}

// After returns a channel that receives the clock's reading once the clock
// has been moved to d after now or later, like time.After on virtual time.
// A d of zero or less fires at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.read()
	if d <= 0 {
		ch <- now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: now.Add(d), ch: ch})
	return ch
}

// Waiters returns how many [Clock.After] channels have not fired yet, so a
// test can wait until a goroutine is blocked on virtual time before it
// advances the clock.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// fire sends on every due waiter. The caller holds c.mu.
func (c *Clock) fire() {
	now := c.read()
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if now.Before(w.at) {
			kept = append(kept, w)
			continue
		}
		w.ch <- now // buffered, and sent to once
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}
