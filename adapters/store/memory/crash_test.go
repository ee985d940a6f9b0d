package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// journal is a reconcile.Journal that keeps its entry and events.
type journal struct {
	e      reconcile.JournalEntry
	events []string
}

func (j *journal) Load(context.Context) (reconcile.JournalEntry, error) { return j.e, nil }

func (j *journal) Save(_ context.Context, e reconcile.JournalEntry, event string) error {
	j.e, j.events = e, append(j.events, event)
	return nil
}

func TestCrashAfterLetsNWritesThrough(t *testing.T) {
	ctx := context.Background()
	inner := memory.NewDeviceStore()
	crash := memory.CrashAfter(2)
	s := crash.Store(inner)
	a := vitalsdk.DeviceState{Installation: "phone", APIKeyUserID: "a"}
	b := vitalsdk.DeviceState{Installation: "phone", APIKeyUserID: "b"}

	_, ok, err := s.LoadDevice(ctx, "phone")
	require.NoError(t, err, "reads do not count")
	require.False(t, ok)
	require.NoError(t, s.SaveDevice(ctx, a))
	require.NoError(t, s.DeleteDevice(ctx, "phone"))
	require.False(t, crash.Crashed())
	require.Equal(t, 2, crash.Writes())
	require.NoError(t, inner.SaveDevice(ctx, a)) // the state at the crash

	require.ErrorIs(t, s.SaveDevice(ctx, b), memory.ErrCrashed, "the third write crashes")
	require.True(t, crash.Crashed())
	require.ErrorIs(t, s.DeleteDevice(ctx, "phone"), memory.ErrCrashed)
	_, _, err = s.LoadDevice(ctx, "phone")
	require.ErrorIs(t, err, memory.ErrCrashed, "a dead process reads nothing either")
	require.Equal(t, 2, crash.Writes())

	got, ok, err := inner.LoadDevice(ctx, "phone")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a, got, "nothing reached the store after the crash")
	require.Equal(t, uint64(3), inner.WriteCount())
}

// One process: the device store's and the journal's writes share the
// count, and the crash stops both.
func TestCrashCountsWritesAcrossStores(t *testing.T) {
	ctx := context.Background()
	inner, jinner := memory.NewDeviceStore(), &journal{}
	crash := memory.CrashAfter(2)
	s, j := crash.Store(inner), crash.Journal(jinner)

	require.NoError(t, j.Save(ctx, reconcile.JournalEntry{InFlight: reconcile.SignIn{}}, "start"))
	require.NoError(t, s.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "phone"}))
	require.ErrorIs(t, j.Save(ctx, reconcile.JournalEntry{LastObserved: fsm.Token}, "done"), memory.ErrCrashed)
	require.True(t, crash.Crashed())
	_, err := j.Load(ctx)
	require.ErrorIs(t, err, memory.ErrCrashed)
	_, _, err = s.LoadDevice(ctx, "phone")
	require.ErrorIs(t, err, memory.ErrCrashed)

	require.Equal(t, []string{"start"}, jinner.events, "the journal write at the crash is lost")
	require.Equal(t, reconcile.JournalEntry{InFlight: reconcile.SignIn{}}, jinner.e)
	require.Equal(t, uint64(1), inner.WriteCount())
}

func TestCrashAfterZeroCrashesAtTheFirstWrite(t *testing.T) {
	ctx := context.Background()
	inner := memory.NewDeviceStore()
	crash := memory.CrashAfter(0)
	require.ErrorIs(t, crash.Store(inner).DeleteDevice(ctx, "phone"), memory.ErrCrashed)
	require.True(t, crash.Crashed())
	require.Zero(t, inner.WriteCount())
}

func TestCrashAfterNegativeCountsWrites(t *testing.T) {
	ctx := context.Background()
	crash := memory.CrashAfter(-1)
	s, j := crash.Store(memory.NewDeviceStore()), crash.Journal(&journal{})
	for range 5 {
		require.NoError(t, s.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "phone"}))
		require.NoError(t, j.Save(ctx, reconcile.JournalEntry{}, "event"))
	}
	require.Equal(t, 10, crash.Writes())
	require.False(t, crash.Crashed())
}
