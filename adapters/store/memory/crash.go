package memory

import (
	"context"
	"errors"
	"sync"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/reconcile"
)

// ErrCrashed is what a crashed store returns: the process it belonged to
// has died, and nothing it does reaches storage any more.
var ErrCrashed = errors.New("memory: process crashed")

// Crash models one process that dies at a chosen write, across every store
// it writes through: wrap the device's store (Store) and the runner's
// journal (Journal) with the same Crash. The first n write calls, counted
// over all of them, go through to the wrapped stores, whatever their
// result; the next one crashes the process. From then on every call
// through any of its wrappers, reads included, returns ErrCrashed and
// changes nothing. A crash "before write k+1" and one "after write k" look
// the same to storage, so n selects every crash point of a run. To
// relaunch, use the wrapped stores themselves. The wrappers work on any
// store (memory or SQLite) and are safe for concurrent use; the wrapped
// stores order the writes that go through.
type Crash struct {
	mu      sync.Mutex
	left    int
	writes  int
	crashed bool
}

// CrashAfter returns a process that lets n writes through and then
// crashes. A negative n never crashes, which counts the writes of a run
// (Writes) so that a test can then crash at each of them.
func CrashAfter(n int) *Crash { return &Crash{left: n} }

// Store wraps a device store of the process.
func (c *Crash) Store(next vitalsdk.Store) *CrashingStore {
	return &CrashingStore{crash: c, next: next}
}

// Journal wraps a reconcile journal of the process.
func (c *Crash) Journal(next reconcile.Journal) *CrashingJournal {
	return &CrashingJournal{crash: c, next: next}
}

// Crashed reports whether the process has crashed.
func (c *Crash) Crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// Writes returns the number of write calls let through so far.
func (c *Crash) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// read fails once the process has crashed.
func (c *Crash) read() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return ErrCrashed
	}
	return nil
}

// write counts one write call, and crashes the process when none is left.
func (c *Crash) write() error {
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

// CrashingStore is a vitalsdk.Store of a process that may crash (see
// Crash).
type CrashingStore struct {
	crash *Crash
	next  vitalsdk.Store
}

// LoadDevice reads through, until the crash.
func (s *CrashingStore) LoadDevice(ctx context.Context, installation string) (vitalsdk.DeviceState, bool, error) {
	if err := s.crash.read(); err != nil {
		return vitalsdk.DeviceState{}, false, err
	}
	return s.next.LoadDevice(ctx, installation)
}

// SaveDevice writes through, or crashes.
func (s *CrashingStore) SaveDevice(ctx context.Context, st vitalsdk.DeviceState) error {
	if err := s.crash.write(); err != nil {
		return err
	}
	return s.next.SaveDevice(ctx, st)
}

// DeleteDevice writes through, or crashes.
func (s *CrashingStore) DeleteDevice(ctx context.Context, installation string) error {
	if err := s.crash.write(); err != nil {
		return err
	}
	return s.next.DeleteDevice(ctx, installation)
}

// CrashingJournal is a reconcile.Journal of a process that may crash (see
// Crash).
type CrashingJournal struct {
	crash *Crash
	next  reconcile.Journal
}

// Load reads through, until the crash.
func (j *CrashingJournal) Load(ctx context.Context) (reconcile.JournalEntry, error) {
	if err := j.crash.read(); err != nil {
		return reconcile.JournalEntry{}, err
	}
	return j.next.Load(ctx)
}

// Save writes through, or crashes.
func (j *CrashingJournal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	if err := j.crash.write(); err != nil {
		return err
	}
	return j.next.Save(ctx, e, event)
}
