package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

var _ reconcile.Journal = (*Journal)(nil)

func TestJournalRoundTripsAcrossRelaunch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	db, err := Open(ctx, path)
	require.NoError(t, err)
	j := db.Journal("phone", "ios-1.8")
	e, err := j.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, reconcile.JournalEntry{}, e, "no entry yet")

	want := reconcile.JournalEntry{LastObserved: fsm.Token, Environment: fsm.Sandbox, Region: fsm.US,
		AppUserID: "alice", VitalUserID: "v", InFlight: "sign-out", Attempts: 2,
		NextAttemptAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), LastError: reconcile.ErrorNetwork}
	require.NoError(t, j.Save(ctx, want, "failed sign-out"))
	require.NoError(t, db.Close())

	db, err = Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	got, err := db.Journal("phone", "ios-1.8").Load(ctx)
	require.NoError(t, err)
	require.Equal(t, want, got)
	ev, err := db.JournalEvents(ctx, "phone", 0)
	require.NoError(t, err)
	require.Len(t, ev, 1)
	require.Equal(t, "failed sign-out", ev[0].Event)

	// A stored error class the runner does not know is corrupt, not ignored.
	_, err = db.wdb.ExecContext(ctx, `UPDATE journal SET last_error_class = 'gremlins' WHERE installation = 'phone'`)
	require.NoError(t, err)
	_, err = db.Journal("phone", "ios-1.8").Load(ctx)
	require.ErrorIs(t, err, ErrCorrupt)
}
