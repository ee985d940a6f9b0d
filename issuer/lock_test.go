package issuer

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyedLockExcludesPerKey(t *testing.T) {
	var k keyedLock
	var wg sync.WaitGroup
	inside := map[string]int{}
	var mu sync.Mutex
	maxInside := 0
	for i := range 64 {
		key := []string{"a", "b"}[i%2]
		wg.Go(func() {
			unlock, err := k.lock(context.Background(), key)
			if err != nil {
				t.Errorf("lock: %v", err) // not require: this is not the test's goroutine
				return
			}
			mu.Lock()
			inside[key]++
			maxInside = max(maxInside, inside[key])
			mu.Unlock()
			runtime.Gosched()
			mu.Lock()
			inside[key]--
			mu.Unlock()
			unlock()
			unlock() // idempotent
		})
	}
	wg.Wait()
	require.Equal(t, 1, maxInside)
	require.Zero(t, k.size(), "entries must be dropped when unused")
}

func TestKeyedLockHonoursContext(t *testing.T) {
	var k keyedLock
	unlock, err := k.lock(context.Background(), "a")
	require.NoError(t, err)

	// Another key is independent.
	unlockB, err := k.lock(context.Background(), "b")
	require.NoError(t, err)
	unlockB()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = k.lock(ctx, "a")
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, k.size())

	unlock()
	require.Zero(t, k.size())
	unlock, err = k.lock(context.Background(), "a")
	require.NoError(t, err)
	unlock()
}
