package memory

import (
	"context"
	"errors"
	"sync"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// ErrCrashed is what a crashed store returns: the process it belonged to
// has died, and nothing it does reaches storage any more.
var ErrCrashed = errors.New("memory: process crashed")

// CrashingStore wraps a vitalsdk.Store (any: memory or SQLite) to model a
// process that dies at a chosen write: the first n write calls (SaveDevice,
// DeleteDevice) go through to the wrapped store, and the next one crashes
// it. From then on every call, reads included, returns ErrCrashed and
// changes nothing. A crash "before write k+1" and one "after write k" look
// the same to storage, so n selects every crash point of a run. To
// relaunch, build a new client on the wrapped store. It is safe for
// concurrent use.
type CrashingStore struct {
	next    vitalsdk.Store
	mu      sync.Mutex
	left    int
	writes  int
	crashed bool
}

// CrashAfter returns a store that lets n writes through to next and then
// crashes. A negative n never crashes, which counts the writes of a run
// (Writes) so that a test can then crash at each of them.
func CrashAfter(next vitalsdk.Store, n int) *CrashingStore {
	return &CrashingStore{next: next, left: n}
}

// LoadDevice reads through, until the crash.
func (c *CrashingStore) LoadDevice(ctx context.Context, installation string) (vitalsdk.DeviceState, bool, error) {
	c.mu.Lock()
	crashed := c.crashed
	c.mu.Unlock()
	if crashed {
		return vitalsdk.DeviceState{}, false, ErrCrashed
	}
	return c.next.LoadDevice(ctx, installation)
}

// SaveDevice writes through, or crashes.
func (c *CrashingStore) SaveDevice(ctx context.Context, s vitalsdk.DeviceState) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.next.SaveDevice(ctx, s)
}

// DeleteDevice writes through, or crashes.
func (c *CrashingStore) DeleteDevice(ctx context.Context, installation string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.next.DeleteDevice(ctx, installation)
}

// write counts one write call, and crashes the store when none is left.
// Writes are not serialised beyond the count: the wrapped store orders
// them.
func (c *CrashingStore) write() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return ErrCrashed
	}
	if c.left == 0 {
		c.crashed = true
		return ErrCrashed
	}
	if c.left > 0 {
		c.left--
	}
	c.writes++
	return nil
}

// Crashed reports whether the store has crashed.
func (c *CrashingStore) Crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// Writes returns the number of write calls let through so far.
func (c *CrashingStore) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}
