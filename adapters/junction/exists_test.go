package junction_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/reconcile"
)

// UserExists tells a live user from a deleted one, and a server error from
// both.
func TestUserExists(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	alive, err := w.team.CreateUser(ctx, "alice")
	require.NoError(t, err)
	gone, err := w.team.CreateUser(ctx, "bob")
	require.NoError(t, err)
	require.NoError(t, w.team.DeleteUser(ctx, gone.UserID))

	ok, err := w.team.UserExists(ctx, alive.UserID)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = w.team.UserExists(ctx, gone.UserID)
	require.NoError(t, err)
	require.False(t, ok)
	w.emu.FailNext(emulator.RouteGetUser, 1, 500)
	ok, err = w.team.UserExists(ctx, alive.UserID)
	require.Error(t, err)
	require.True(t, reconcile.IsTransient(err))
	require.False(t, ok)
}
