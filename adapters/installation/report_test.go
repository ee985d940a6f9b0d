package installation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/installation"
	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/memory"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

var reportSecret = []byte("installation-test-secret-0123456")

// world is an emulator and an issuer on one loopback address, with the
// issuer's reports in memory (nil: the issuer has no report route).
func reportWorld(t *testing.T, reports issuer.ReportStore) string {
	t.Helper()
	emu := emulator.New()
	var base string
	auth, err := issuer.NewHMACAuthenticator(reportSecret, nil)
	require.NoError(t, err)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base = srv.URL
	h, err := issuer.New(issuer.Config{Team: junction.NewClient(base, emu.APIKey()), Store: memory.NewUserMap(nil),
		Reports: reports, Auth: auth})
	require.NoError(t, err)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(issuer.Paths(), r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		emu.ServeHTTP(w, r)
	})
	return base
}

func reportConfig(t *testing.T, base string, db *sqlite.DB, now *time.Time) installation.Config {
	session, err := issuer.NewSession(reportSecret, "alice", time.Hour, time.Now())
	require.NoError(t, err)
	p, _ := fsm.ParseProfile("android-5.0")
	store, journal, writes := installation.SQLite(db, "phone", p)
	return installation.Config{Profile: p, Store: store, Journal: journal, Writes: writes, ReportLog: db,
		Installation: "phone", IssuerURL: base, Session: session,
		APIURL: base, AuthURL: base + "/auth", SDKVersion: "4.3.0", ReportInterval: time.Hour,
		Now: func() time.Time { return *now },
		App: func() reconcile.AppSession {
			return reconcile.AppSession{SignedIn: true, AppUserID: "alice", Environment: fsm.Sandbox, Region: fsm.US}
		}}
}

func reportDB(t *testing.T) *sqlite.DB {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "device.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// The report the issuer stores is what the SDK and the journal say after
// the launch; quiet launches report once per interval.
func TestLaunchReports(t *testing.T) {
	ctx := context.Background()
	reports := &memory.Reports{}
	base := reportWorld(t, reports)
	now := time.Now().UTC().Truncate(time.Second)
	db := reportDB(t)
	cfg := reportConfig(t, base, db, &now)

	rep, err := installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, rep.ReportErr)
	require.Equal(t, reconcile.ResultApplied, rep.Outcome.Result)
	require.Equal(t, int64(1), rep.ReportCalls)
	got, ok, err := reports.LatestReport(ctx, "phone")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "android-5.0", got.Profile)
	require.Equal(t, fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, got.SDKStatus)
	require.NotEmpty(t, got.SDKCurrentUserID)
	require.Equal(t, got.SDKCurrentUserID, got.AppVitalUserID)
	require.Equal(t, fsm.Token, got.LastObserved)
	require.Equal(t, now, got.ReportedAt)

	now = now.Add(30 * time.Minute)
	rep, err = installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.Zero(t, rep.ReportCalls+rep.NetworkCalls+int64(rep.DBWrites), "quiet, inside the interval")

	now = now.Add(time.Hour)
	rep, err = installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, int64(1), rep.ReportCalls)
	require.Zero(t, rep.NetworkCalls)
	got, _, _ = reports.LatestReport(ctx, "phone")
	require.Equal(t, now, got.ReportedAt)
}

// A report that cannot be sent never fails the launch.
func TestReportFailureNeverFailsTheLaunch(t *testing.T) {
	ctx := context.Background()
	base := reportWorld(t, nil) // the issuer has no report route: 404
	now := time.Now().UTC()
	cfg := reportConfig(t, base, reportDB(t), &now)
	rep, err := installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, reconcile.ResultApplied, rep.Outcome.Result)
	require.Equal(t, int64(1), rep.ReportCalls)
	require.ErrorIs(t, rep.ReportErr, issuer.ErrNotFound)

	// Not sent means not remembered: the next quiet launch tries again.
	rep, err = installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, int64(1), rep.ReportCalls)
	require.Zero(t, rep.NetworkCalls)
}
