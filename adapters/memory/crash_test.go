package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

func TestCrashAfterLetsNWritesThrough(t *testing.T) {
	ctx := context.Background()
	inner := memory.NewDeviceStore()
	s := memory.CrashAfter(inner, 2)
	a := vitalsdk.DeviceState{Installation: "phone", APIKeyUserID: "a"}
	b := vitalsdk.DeviceState{Installation: "phone", APIKeyUserID: "b"}

	_, ok, err := s.LoadDevice(ctx, "phone")
	require.NoError(t, err, "reads do not count")
	require.False(t, ok)
	require.NoError(t, s.SaveDevice(ctx, a))
	require.NoError(t, s.DeleteDevice(ctx, "phone"))
	require.False(t, s.Crashed())
	require.Equal(t, 2, s.Writes())
	require.NoError(t, inner.SaveDevice(ctx, a)) // the state at the crash

	require.ErrorIs(t, s.SaveDevice(ctx, b), memory.ErrCrashed, "the third write crashes")
	require.True(t, s.Crashed())
	require.ErrorIs(t, s.DeleteDevice(ctx, "phone"), memory.ErrCrashed)
	_, _, err = s.LoadDevice(ctx, "phone")
	require.ErrorIs(t, err, memory.ErrCrashed, "a dead process reads nothing either")
	require.Equal(t, 2, s.Writes())

	got, ok, err := inner.LoadDevice(ctx, "phone")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a, got, "nothing reached the store after the crash")
	require.Equal(t, uint64(3), inner.WriteCount())
}

func TestCrashAfterZeroCrashesAtTheFirstWrite(t *testing.T) {
	ctx := context.Background()
	inner := memory.NewDeviceStore()
	s := memory.CrashAfter(inner, 0)
	require.ErrorIs(t, s.DeleteDevice(ctx, "phone"), memory.ErrCrashed)
	require.True(t, s.Crashed())
	require.Zero(t, inner.WriteCount())
}

func TestCrashAfterNegativeCountsWrites(t *testing.T) {
	ctx := context.Background()
	s := memory.CrashAfter(memory.NewDeviceStore(), -1)
	for range 5 {
		require.NoError(t, s.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "phone"}))
	}
	require.Equal(t, 5, s.Writes())
	require.False(t, s.Crashed())
}
