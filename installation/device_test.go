package installation_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Operate records the state an operation leaves, journals it only when it
// changed, and hands a failed operation's SDK error to the journal.
func TestOperate(t *testing.T) {
	ctx := context.Background()
	p, _ := fsm.ParseProfile("android-5.0")
	sdk, err := vitalsdk.New(ctx, vitalsdk.Options{Profile: p, Installation: "phone", Store: memory.NewDeviceStore(),
		HTTPClient: &http.Client{Transport: &noNetwork{}}, Now: now})
	require.NoError(t, err)
	j := &memory.Journal{}
	configure := func(ctx context.Context, sdk *vitalsdk.Client) error {
		return sdk.Configure(ctx, "sk_us_operate", fsm.Sandbox, fsm.US)
	}
	st, err := installation.Operate(ctx, sdk, j, p, "test configure", configure)
	require.NoError(t, err)
	require.Equal(t, installation.DeviceStatus{State: fsm.Configured, Status: []string{"configured"}}, st)
	entry, err := j.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, fsm.Configured, entry.LastObserved)
	require.Equal(t, fsm.Sandbox, entry.Environment)
	writes := j.WriteCount()
	_, err = installation.Observe(ctx, sdk, j, p, "test status")
	require.NoError(t, err)
	require.Equal(t, writes, j.WriteCount(), "an unchanged state is not journaled again")

	// The refresh fails (no session): its SDK error reaches the journal.
	_, err = installation.Operate(ctx, sdk, j, p, "test refresh", func(ctx context.Context, sdk *vitalsdk.Client) error {
		return sdk.Refresh(ctx)
	})
	require.ErrorIs(t, err, vitalsdk.ErrNotSignedIn)
	entry, err = j.Load(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, entry.LastError)
}

// ClearBackoff clears a pending backoff, keeps the failure count, and
// writes nothing when none is pending.
func TestClearBackoff(t *testing.T) {
	ctx := context.Background()
	j := &memory.Journal{}
	require.NoError(t, installation.ClearBackoff(ctx, j, "cleared"))
	require.Zero(t, j.WriteCount())
	require.NoError(t, j.Save(ctx, reconcile.JournalEntry{Attempts: 2, NextAttemptAt: now().Add(time.Hour)}, "failed"))
	require.NoError(t, installation.ClearBackoff(ctx, j, "cleared"))
	entry, err := j.Load(ctx)
	require.NoError(t, err)
	require.True(t, entry.NextAttemptAt.IsZero())
	require.Equal(t, 2, entry.Attempts)
}
