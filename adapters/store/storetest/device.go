package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// DeviceStore runs the vitalsdk.Store contract (see vitalsdk.Store) against
// the stores open returns, a new empty one per subtest.
func DeviceStore(t *testing.T, open func(t *testing.T) vitalsdk.Store) {
	ctx := context.Background()

	t.Run("round trip of every field", func(t *testing.T) {
		s := open(t)
		for i, want := range fullStates() {
			require.NoError(t, s.SaveDevice(ctx, want), "state %d", i)
			got, ok, err := s.LoadDevice(ctx, want.Installation)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, normalized(want), got, "state %d", i)
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := open(t)
		requireMissing(t, s, "phone")
		require.NoError(t, s.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "other"}))
		requireMissing(t, s, "phone")
		requireMissing(t, s, "")
	})

	t.Run("overwrite replaces the whole state", func(t *testing.T) {
		s := open(t)
		full := fullStates()[1]
		full.Installation = "phone"
		require.NoError(t, s.SaveDevice(ctx, full))
		next := vitalsdk.DeviceState{Installation: "phone", Strategy: vitalsdk.StrategyAPIKey,
			Environment: fsm.Production, Region: fsm.US, APIKey: "pk_us_next"}
		require.NoError(t, s.SaveDevice(ctx, next))
		requireStored(t, s, next) // no record, no external user, no startup params left
		require.NoError(t, s.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "phone"}))
		requireStored(t, s, vitalsdk.DeviceState{Installation: "phone"})
	})

	t.Run("delete", func(t *testing.T) {
		s := open(t)
		a, b := fullStates()[1], fullStates()[0]
		a.Installation, b.Installation = "a", "b"
		require.NoError(t, s.SaveDevice(ctx, a))
		require.NoError(t, s.SaveDevice(ctx, b))
		require.NoError(t, s.DeleteDevice(ctx, "a"))
		requireMissing(t, s, "a")
		requireStored(t, s, b)
		require.NoError(t, s.DeleteDevice(ctx, "a"), "deleting a missing installation")
		require.NoError(t, s.DeleteDevice(ctx, "never"), "deleting an unknown installation")
		requireStored(t, s, b)
		// A state saved after a delete starts from nothing.
		require.NoError(t, s.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "a", APIKeyUserID: "u"}))
		requireStored(t, s, vitalsdk.DeviceState{Installation: "a", APIKeyUserID: "u"})
	})

	t.Run("the store keeps its own copy", func(t *testing.T) {
		s := open(t)
		st := fullStates()[1]
		want := normalized(st)
		require.NoError(t, s.SaveDevice(ctx, st))
		st.Record.AccessToken, st.Record.UserID, st.APIKey = "changed", "changed", "changed"
		requireStored(t, s, want)
		got, _, err := s.LoadDevice(ctx, st.Installation)
		require.NoError(t, err)
		got.Record.RefreshToken, got.Record.PendingReauth = "changed", !got.Record.PendingReauth
		requireStored(t, s, want)
	})

	t.Run("invalid states are refused", func(t *testing.T) {
		s := open(t)
		before := fullStates()[1]
		before.Installation = "a"
		require.NoError(t, s.SaveDevice(ctx, before))
		valid := normalized(before)
		for _, tt := range invalidStates() {
			bad := tt.mutate(valid.Clone())
			err := s.SaveDevice(ctx, bad)
			require.ErrorIs(t, err, vitalsdk.ErrInvalidState, tt.field)
			var se *vitalsdk.StateError
			require.ErrorAs(t, err, &se, tt.field)
			require.Equal(t, tt.field, se.Field)
			requireStored(t, s, valid)
		}
		err := s.SaveDevice(ctx, vitalsdk.DeviceState{APIKey: "k"})
		require.ErrorIs(t, err, vitalsdk.ErrInvalidState, "no installation")
		var se *vitalsdk.StateError
		require.ErrorAs(t, err, &se)
		require.Equal(t, vitalsdk.FieldInstallation, se.Field)
		requireMissing(t, s, "")
	})

	t.Run("a done context changes nothing", func(t *testing.T) {
		s := open(t)
		st := fullStates()[1]
		require.NoError(t, s.SaveDevice(ctx, st))
		done, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := s.LoadDevice(done, st.Installation)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, s.SaveDevice(done, vitalsdk.DeviceState{Installation: st.Installation}), context.Canceled)
		require.ErrorIs(t, s.DeleteDevice(done, st.Installation), context.Canceled)
		require.ErrorIs(t, s.SaveDevice(done, vitalsdk.DeviceState{Installation: "new"}), context.Canceled)
		requireStored(t, s, normalized(st))
		requireMissing(t, s, "new")
	})

	t.Run("concurrent saves never tear a state", func(t *testing.T) {
		s := open(t)
		const writers, rounds = 4, 10
		// Every state a writer saves is whole: its fields all carry the
		// writer's number, so a mix of two saves shows.
		state := func(w int) vitalsdk.DeviceState {
			tag := fmt.Sprint(w)
			return vitalsdk.DeviceState{Installation: "shared", Strategy: vitalsdk.StrategyJWT,
				APIKeyUserID: tag, ExternalUserID: tag, StartupUserID: tag,
				Record: &vitalsdk.TokenRecord{UserID: tag, TeamID: tag, AccessToken: tag, RefreshToken: tag}}
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers*rounds*2)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					errs <- s.SaveDevice(ctx, state(w))
					got, ok, err := s.LoadDevice(ctx, "shared")
					if err == nil && (!ok || got.Record == nil) {
						err = errors.New("a saved state went missing")
					}
					if err == nil {
						var n int
						if _, serr := fmt.Sscan(got.APIKeyUserID, &n); serr != nil || !isState(got, state(n)) {
							err = fmt.Errorf("torn state %+v", got)
						}
					}
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
}

// isState reports whether got is want, field for field.
func isState(got, want vitalsdk.DeviceState) bool {
	if got.Record == nil || want.Record == nil {
		return got.Record == want.Record && got == want
	}
	gr, wr := *got.Record, *want.Record
	got.Record, want.Record = nil, nil
	return got == want && gr == wr
}

// fullStates are valid states with every field set, across every strategy,
// environment and region, with expiries in zones other than UTC and with
// nanoseconds.
func fullStates() []vitalsdk.DeviceState {
	zone := time.FixedZone("CEST", 2*60*60)
	var out []vitalsdk.DeviceState
	i := 0
	for _, env := range fsm.Environments() {
		for _, region := range fsm.Regions() {
			i++
			tag := fmt.Sprint(i)
			out = append(out,
				vitalsdk.DeviceState{
					Installation: "apikey-" + tag, Strategy: vitalsdk.StrategyAPIKey,
					Environment: env, Region: region, APIKey: "sk_" + string(region) + "_secret-" + tag,
					APIKeyUserID: "user-" + tag, ExternalUserID: "legacySetUserId:USER-" + tag,
					StartupStrategy: vitalsdk.StrategyAPIKey, StartupUserID: "USER-" + tag,
				},
				vitalsdk.DeviceState{
					Installation: "jwt-" + tag, Strategy: vitalsdk.StrategyJWT,
					Environment: env, Region: region,
					APIKey: "kept-" + tag, APIKeyUserID: "old-user-" + tag,
					Record: &vitalsdk.TokenRecord{
						UserID: "vital-user-" + tag, TeamID: "team-" + tag,
						TenantID: "tenant-" + tag, PublicAPIKey: "public-key-" + tag, Environment: env, Region: region,
						AccessToken: "access-" + tag, RefreshToken: "refresh-" + tag,
						Expiry:        time.Date(2026, 3, 1, 12, i, 7, 123456789, zone),
						PendingReauth: i%2 == 0,
					},
					ExternalUserID:  "app-user-" + tag,
					StartupStrategy: vitalsdk.StrategyJWT, StartupUserID: "jwt-user-" + tag,
				})
		}
	}
	// A token record with the zero expiry and no environment.
	out = append(out, vitalsdk.DeviceState{Installation: "bare-record",
		Record: &vitalsdk.TokenRecord{UserID: "u", AccessToken: "a"}})
	// Android 4.2.0's record: a region-less legacy session with its public
	// key, under a strategy that has the region (reference §10.3).
	out = append(out, vitalsdk.DeviceState{Installation: "legacy-android", Strategy: vitalsdk.StrategyJWT,
		Environment: fsm.Sandbox, Region: fsm.EU,
		Record: &vitalsdk.TokenRecord{UserID: "u", TeamID: "t", TenantID: "tenant", PublicAPIKey: "AIza-public",
			Environment: fsm.Sandbox, AccessToken: "id-token", RefreshToken: "secure-token-refresh"}})
	return out
}

// invalidStates are one bad field each, named as a StateError names it.
func invalidStates() []struct {
	field  string
	mutate func(vitalsdk.DeviceState) vitalsdk.DeviceState
} {
	type tc = struct {
		field  string
		mutate func(vitalsdk.DeviceState) vitalsdk.DeviceState
	}
	return []tc{
		{vitalsdk.FieldStrategy, func(s vitalsdk.DeviceState) vitalsdk.DeviceState { s.Strategy = "oauth"; return s }},
		{vitalsdk.FieldEnvironment, func(s vitalsdk.DeviceState) vitalsdk.DeviceState { s.Environment = "staging"; return s }},
		{vitalsdk.FieldRegion, func(s vitalsdk.DeviceState) vitalsdk.DeviceState { s.Region = "ap"; return s }},
		{vitalsdk.FieldStartupStrategy, func(s vitalsdk.DeviceState) vitalsdk.DeviceState { s.StartupStrategy = "JWT"; return s }},
		{vitalsdk.FieldTokenEnvironment, func(s vitalsdk.DeviceState) vitalsdk.DeviceState { s.Record.Environment = "prod"; return s }},
		{vitalsdk.FieldTokenRegion, func(s vitalsdk.DeviceState) vitalsdk.DeviceState { s.Record.Region = "asia"; return s }},
	}
}

// normalized is s as a store gives it back: its expiry in UTC.
func normalized(s vitalsdk.DeviceState) vitalsdk.DeviceState {
	s = s.Clone()
	if s.Record != nil && !s.Record.Expiry.IsZero() {
		s.Record.Expiry = s.Record.Expiry.UTC()
	}
	return s
}

func requireMissing(t *testing.T, s vitalsdk.Store, installation string) {
	t.Helper()
	got, ok, err := s.LoadDevice(context.Background(), installation)
	require.NoError(t, err)
	require.False(t, ok, "installation %q", installation)
	require.Equal(t, vitalsdk.DeviceState{}, got)
}

func requireStored(t *testing.T, s vitalsdk.Store, want vitalsdk.DeviceState) {
	t.Helper()
	got, ok, err := s.LoadDevice(context.Background(), want.Installation)
	require.NoError(t, err)
	require.True(t, ok, "installation %q", want.Installation)
	require.Equal(t, want, got)
}

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
