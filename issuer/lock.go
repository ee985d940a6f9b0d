package issuer

import (
	"context"
	"sync"
)

// keyedLock is a set of mutexes, one per key, created on demand and dropped
// when nobody holds or waits for them. Waiting respects the context.
type keyedLock struct {
	mu      sync.Mutex
	entries map[string]*lockEntry
}

type lockEntry struct {
	ch   chan struct{} // holds one value while locked
	refs int           // holders and waiters
}

// lock acquires key's mutex and returns its release function, or ctx's error
// if ctx ends first.
func (k *keyedLock) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.entries == nil {
		k.entries = make(map[string]*lockEntry)
	}
	e := k.entries[key]
	if e == nil {
		e = &lockEntry{ch: make(chan struct{}, 1)}
		k.entries[key] = e
	}
	e.refs++
	k.mu.Unlock()

	select {
	case e.ch <- struct{}{}:
		var once sync.Once
		return func() {
			once.Do(func() {
				<-e.ch
				k.release(key, e)
			})
		}, nil
	case <-ctx.Done():
		k.release(key, e)
		return nil, ctx.Err()
	}
}

func (k *keyedLock) release(key string, e *lockEntry) {
	k.mu.Lock()
	e.refs--
	if e.refs == 0 {
		delete(k.entries, key)
	}
	k.mu.Unlock()
}

// size is the number of keys with holders or waiters.
func (k *keyedLock) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.entries)
}
