package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// ReportStore is the report store a contract run needs: the issuer's
// ReportStore plus a read of the stored report.
type ReportStore interface {
	issuer.ReportStore
	// LatestReport returns the stored report of installation, and false
	// when there is none.
	LatestReport(ctx context.Context, installation string) (issuer.Report, bool, error)
}

// Reports runs the issuer.ReportStore contract (see issuer.ReportStore)
// against the stores open returns: a new, empty one per subtest.
func Reports(t *testing.T, open func(t *testing.T) ReportStore) {
	ctx := context.Background()
	zone := time.FixedZone("CEST", 2*60*60)
	at := func(minute int) time.Time { return time.Date(2026, 11, 2, 8, minute, 3, 123456789, zone) }
	full := func(minute int) issuer.Report {
		return issuer.Report{InstallationID: "inst-1", Platform: fsm.Android, SDKVersion: "4.3.0",
			Profile: "android-5.0", AppSignedIn: true, AppUserID: "alice", AppVitalUserID: "v-1",
			AppEnvironment: fsm.Sandbox, AppRegion: fsm.EU,
			SDKStatus:        fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken,
			SDKCurrentUserID: "V-1", SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.EU,
			LastObserved: fsm.Token, LastError: reconcile.ErrNetwork,
			NextAttemptAt: at(minute + 30), ReportedAt: at(minute)}
	}
	utc := func(r issuer.Report) issuer.Report {
		r.ReportedAt, r.NextAttemptAt = r.ReportedAt.UTC(), r.NextAttemptAt.UTC()
		return r
	}
	requireLatest := func(t *testing.T, s ReportStore, want issuer.Report) {
		t.Helper()
		got, ok, err := s.LatestReport(ctx, want.InstallationID)
		require.NoError(t, err)
		require.True(t, ok, "no report of %s", want.InstallationID)
		require.Equal(t, utc(want), got)
	}

	t.Run("round trip in UTC", func(t *testing.T) {
		s := open(t)
		_, ok, err := s.LatestReport(ctx, "inst-1")
		require.NoError(t, err)
		require.False(t, ok)
		stored, err := s.PutReport(ctx, full(1))
		require.NoError(t, err)
		require.True(t, stored)
		requireLatest(t, s, full(1))

		// A signed-out app with an unmapped SDK version and no journal.
		bare := issuer.Report{InstallationID: "inst-2", Platform: fsm.IOS, SDKVersion: "9.0.0", ReportedAt: at(2)}
		stored, err = s.PutReport(ctx, bare)
		require.NoError(t, err)
		require.True(t, stored)
		requireLatest(t, s, bare)
		requireLatest(t, s, full(1))
	})

	t.Run("the latest reported_at wins", func(t *testing.T) {
		s := open(t)
		_, err := s.PutReport(ctx, full(5))
		require.NoError(t, err)
		older := full(4)
		older.AppUserID = "bob"
		stored, err := s.PutReport(ctx, older)
		require.NoError(t, err)
		require.False(t, stored, "an older report overwrote a newer one")
		requireLatest(t, s, full(5))

		newer := full(6)
		newer.SDKStatus, newer.SDKCurrentUserID, newer.LastError = 0, "", reconcile.NoSDKError
		newer.NextAttemptAt = time.Time{}
		stored, err = s.PutReport(ctx, newer)
		require.NoError(t, err)
		require.True(t, stored)
		requireLatest(t, s, newer)

		// The same time again replaces it: a retried send.
		same := newer
		same.LastObserved = fsm.SignedOut
		stored, err = s.PutReport(ctx, same)
		require.NoError(t, err)
		require.True(t, stored)
		requireLatest(t, s, same)
	})

	t.Run("invalid reports are refused", func(t *testing.T) {
		s := open(t)
		for name, mut := range map[string]func(*issuer.Report){
			"no installation": func(r *issuer.Report) { r.InstallationID = "" },
			"no time":         func(r *issuer.Report) { r.ReportedAt = time.Time{} },
			"platform":        func(r *issuer.Report) { r.Platform = "web" },
			"profile":         func(r *issuer.Report) { r.Profile = "ios-1.8" },
			"signed out user": func(r *issuer.Report) { r.AppSignedIn = false },
			"status":          func(r *issuer.Report) { r.SDKStatus = 1 << 7 },
		} {
			r := full(1)
			mut(&r)
			stored, err := s.PutReport(ctx, r)
			require.ErrorIs(t, err, issuer.ErrBadReport, name)
			require.False(t, stored, name)
			_, ok, err := s.LatestReport(ctx, r.InstallationID)
			require.NoError(t, err)
			require.False(t, ok, "%s: stored", name)
		}
	})

	t.Run("a done context changes nothing", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.PutReport(cctx, full(1))
		require.ErrorIs(t, err, context.Canceled)
		_, ok, err := s.LatestReport(ctx, "inst-1")
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("concurrent reports keep the latest", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.PutReport(ctx, full(i))
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		requireLatest(t, s, full(19))
	})
}
