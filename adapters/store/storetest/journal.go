package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Journal runs the reconcile.Journal contract against the journals open
// returns, a new empty one per subtest.
func Journal(t *testing.T, open func(t *testing.T) reconcile.Journal) {
	ctx := context.Background()
	at := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

	t.Run("empty", func(t *testing.T) {
		e, err := open(t).Load(ctx)
		require.NoError(t, err)
		require.Equal(t, reconcile.JournalEntry{}, e)
	})

	t.Run("round trip of every field and every action", func(t *testing.T) {
		j := open(t)
		actions := []reconcile.Action{nil, reconcile.SignOut{}, reconcile.SignIn{}, reconcile.SignIn{VitalUser: "v-1"},
			reconcile.Migrate{VitalUser: "V-2"}, reconcile.Reauthenticate{VitalUser: "v:3"},
			reconcile.Resolve{AppUser: "alice@example.com"}}
		for i, a := range actions {
			want := reconcile.JournalEntry{LastObserved: fsm.States()[i%len(fsm.States())],
				Environment: fsm.Sandbox, Region: fsm.EU, AppUserID: "alice", VitalUserID: "v-1",
				InFlight: a, LastAction: actions[(i+1)%len(actions)], LastError: reconcile.SDKErrors()[i%len(reconcile.SDKErrors())],
				Attempts: i, NextAttemptAt: at.Add(time.Duration(i) * time.Minute),
				LastResolvedAt: at.Add(-time.Duration(i) * time.Hour)}
			require.NoError(t, j.Save(ctx, want, "event"))
			got, err := j.Load(ctx)
			require.NoError(t, err)
			want.NextAttemptAt, want.LastResolvedAt = want.NextAttemptAt.UTC(), want.LastResolvedAt.UTC()
			require.Equal(t, want, got, "entry %d", i)
		}
	})

	t.Run("save replaces the whole entry", func(t *testing.T) {
		j := open(t)
		require.NoError(t, j.Save(ctx, reconcile.JournalEntry{LastObserved: fsm.Token, AppUserID: "a",
			InFlight: reconcile.SignOut{}, Attempts: 3, NextAttemptAt: at.UTC()}, "first"))
		next := reconcile.JournalEntry{LastObserved: fsm.SignedOut}
		require.NoError(t, j.Save(ctx, next, "second"))
		got, err := j.Load(ctx)
		require.NoError(t, err)
		require.Equal(t, next, got)
	})

	t.Run("invalid entries are refused and change nothing", func(t *testing.T) {
		j := open(t)
		good := reconcile.JournalEntry{LastObserved: fsm.Token}
		require.NoError(t, j.Save(ctx, good, "good"))
		for name, bad := range map[string]struct {
			e     reconcile.JournalEntry
			event string
		}{
			"state":      {reconcile.JournalEntry{LastObserved: "signedIn"}, "e"},
			"env":        {reconcile.JournalEntry{Environment: "prd"}, "e"},
			"region":     {reconcile.JournalEntry{Region: "ap"}, "e"},
			"attempts":   {reconcile.JournalEntry{Attempts: -1}, "e"},
			"last error": {reconcile.JournalEntry{LastError: "gremlins"}, "e"},
			"no event":   {reconcile.JournalEntry{}, ""},
		} {
			err := j.Save(ctx, bad.e, bad.event)
			require.ErrorIs(t, err, reconcile.ErrInvalidJournalEntry, name)
			got, err := j.Load(ctx)
			require.NoError(t, err)
			require.Equal(t, good, got, name)
		}
	})

	t.Run("a done context changes nothing", func(t *testing.T) {
		j := open(t)
		require.NoError(t, j.Save(ctx, reconcile.JournalEntry{LastObserved: fsm.Token}, "good"))
		done, cancel := context.WithCancel(ctx)
		cancel()
		require.ErrorIs(t, j.Save(done, reconcile.JournalEntry{LastObserved: fsm.SignedOut}, "late"), context.Canceled)
		_, err := j.Load(done)
		require.ErrorIs(t, err, context.Canceled)
		got, err := j.Load(ctx)
		require.NoError(t, err)
		require.Equal(t, fsm.Token, got.LastObserved)
	})
}
