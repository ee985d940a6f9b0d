package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/reconcile"
)

// transientErr speaks reconcile's transient protocol.
type transientErr struct{ after time.Duration }

func (transientErr) Error() string                   { return "rate limited" }
func (transientErr) Transient() bool                 { return true }
func (e transientErr) RetryAfterHint() time.Duration { return e.after }

func rowsSource(mapped ...string) Source {
	return RecordSource{Label: "test", Records: func(ctx context.Context, fn func(string) error) error {
		for i, m := range mapped {
			rec := []byte("i" + string(rune('a'+i)))
			for _, f := range []string{"android", "5.0.2", "", "true", "u" + m, m, "", "",
				"configured,signedIn,useSignInToken", m, "", "", "token", "", "", "2026-11-19T10:00:00Z", m} {
				rec = append(rec, RecordSep)
				rec = append(rec, f...)
			}
			if err := fn(string(rec)); err != nil {
				return err
			}
		}
		return nil
	}}
}

func TestCheckUsersBoundedOnceEachHonouringRetryAfter(t *testing.T) {
	var waits []time.Duration
	var mu sync.Mutex
	sleep0 := sleep
	sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}
	defer func() { sleep = sleep0 }()

	var inFlight, peak atomic.Int32
	asked := map[string]int{}
	checker := UserCheckerFunc(func(ctx context.Context, id string) (bool, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		asked[id]++
		first := asked[id] == 1
		mu.Unlock()
		if id == "v3" && first {
			return false, transientErr{after: 7 * time.Second}
		}
		return id != "v2", nil
	})
	src := rowsSource("v1", "v2", "v3", "v1", "v4", "v5", "v6", "v2")
	s, err := Run(context.Background(), src, nil, Options{Checker: checker, Concurrency: 2})
	require.NoError(t, err)
	require.Equal(t, int64(2), s.Classes[MappedUserMissing], "both of v2's installations")
	require.LessOrEqual(t, peak.Load(), int32(2))
	require.Equal(t, map[string]int{"v1": 1, "v2": 1, "v3": 2, "v4": 1, "v5": 1, "v6": 1}, asked)
	require.Equal(t, []time.Duration{7 * time.Second}, waits)
}

func TestCheckUsersFailsForGood(t *testing.T) {
	boom := errors.New("forbidden")
	checker := UserCheckerFunc(func(context.Context, string) (bool, error) { return false, boom })
	_, err := Run(context.Background(), rowsSource("v1", "v2"), nil, Options{Checker: checker})
	require.ErrorIs(t, err, ErrCheckFailed)
	require.ErrorIs(t, err, boom)
}

// Every planner class has a slot: none is dropped.
func TestEveryPlannerClassIsCounted(t *testing.T) {
	for _, d := range reconcile.Discrepancies() {
		slot := plannerSlot(d)
		require.Less(t, slot, len(severity), d)
		require.Equal(t, Class(d), severity[slot])
	}
	require.LessOrEqual(t, len(severity), len(counters{}.classes))
}
