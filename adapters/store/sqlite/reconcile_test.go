package sqlite

import (
	"context"
	"database/sql"
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
	db, err := OpenDevice(ctx, path)
	require.NoError(t, err)
	j := db.Journal("phone", "ios-1.8")
	e, err := j.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, reconcile.JournalEntry{}, e, "no entry yet")

	want := reconcile.JournalEntry{LastObserved: fsm.Token, Environment: fsm.Sandbox, Region: fsm.US,
		AppUserID: "alice", VitalUserID: "v", InFlight: reconcile.SignOut{}, Attempts: 2,
		NextAttemptAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		LastAction:    reconcile.SignIn{VitalUser: "v"}, LastError: reconcile.ErrNetwork}
	require.NoError(t, j.Save(ctx, want, "failed sign-out"))
	require.NoError(t, db.Close())

	db, err = OpenDevice(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	got, err := db.Journal("phone", "ios-1.8").Load(ctx)
	require.NoError(t, err)
	require.Equal(t, want, got)
	ev, err := db.JournalEvents(ctx, "phone", 0)
	require.NoError(t, err)
	require.Len(t, ev, 1)
	require.Equal(t, "failed sign-out", ev[0].Event)

	require.Equal(t, want, ev[0].Entry)
	require.Equal(t, "ios-1.8", ev[0].Profile)

	// A stored error or action the runner does not know is corrupt, not
	// ignored.
	for _, bad := range []string{
		`UPDATE journal SET last_error = 'gremlins' WHERE installation = 'phone'`,
		`UPDATE journal SET last_error = '', in_flight = 'teleport:v' WHERE installation = 'phone'`,
		`UPDATE journal SET in_flight = '', last_action = 'sign-in(v)' WHERE installation = 'phone'`,
	} {
		_, err = db.wdb.ExecContext(ctx, bad)
		require.NoError(t, err)
		_, err = db.Journal("phone", "ios-1.8").Load(ctx)
		require.ErrorIs(t, err, ErrCorrupt, bad)
	}
}

// TestMigrationRewritesInFlightActions: a journal written before actions had
// a stable stored form keeps its in-flight action across the upgrade.
func TestMigrationRewritesInFlightActions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	migs, err := loadMigrations(KindDevice)
	require.NoError(t, err)
	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	require.NoError(t, applyMigration(ctx, raw, migs[0], nil))
	old := map[string]string{
		"a": "sign-in(3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c01)",
		"b": "sign-in(from token source)",
		"c": "resolve(app user alice)",
		"d": "sign-out",
		"e": "migrate(V-1)",
		"f": "reauthenticate(v-2)",
		"g": "",
	}
	for inst, inFlight := range old {
		_, err := raw.ExecContext(ctx, `INSERT INTO journal (installation, in_flight, last_error_class, updated_at) VALUES (?, ?, 'network', 1)`, inst, inFlight)
		require.NoError(t, err)
	}
	require.NoError(t, raw.Close())

	db, err := OpenDevice(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	want := map[string]reconcile.Action{
		"a": reconcile.SignIn{VitalUser: "3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c01"},
		"b": reconcile.SignIn{},
		"c": reconcile.Resolve{AppUser: "alice"},
		"d": reconcile.SignOut{},
		"e": reconcile.Migrate{VitalUser: "V-1"},
		"f": reconcile.Reauthenticate{VitalUser: "v-2"},
		"g": nil,
	}
	for inst, a := range want {
		e, err := db.Journal(inst, "").Load(ctx)
		require.NoError(t, err, inst)
		require.Equal(t, a, e.InFlight, inst)
		require.Equal(t, reconcile.ErrNetwork, e.LastError, "the error column keeps its values under its new name")
	}
}
