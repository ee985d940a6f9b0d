package installation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

var reportSecret = []byte("installation-test-secret-0123456")

// world is an emulator and an issuer on one loopback address, with the
// issuer's reports in memory (nil: the issuer has no report route).
func reportWorld(t *testing.T, reports issuer.ReportStore, now ...*time.Time) string {
	t.Helper()
	emu := emulator.New()
	var base string
	auth, err := issuer.NewHMACAuthenticator(reportSecret, nil)
	require.NoError(t, err)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base = srv.URL
	cfg := issuer.Config{Team: junction.NewClient(base, emu.APIKey()), Store: memory.NewUserMap(nil),
		Reports: reports, Auth: auth}
	if len(now) > 0 {
		// The issuer's clock is the devices': reports dated ahead of it
		// are refused.
		cfg.Now = func() time.Time { return *now[0] }
	}
	h, err := issuer.New(cfg)
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
		App: signedIn("alice")}
}

// signedIn is an app whose session is app's, in the US sandbox.
func signedIn(app string) func() reconcile.AppSession {
	return func() reconcile.AppSession {
		return reconcile.AppSession{SignedIn: true, AppUserID: app, Environment: fsm.Sandbox, Region: fsm.US}
	}
}

func reportDB(t *testing.T) *sqlite.DB {
	db, err := sqlite.OpenDevice(context.Background(), filepath.Join(t.TempDir(), "device.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// The report the issuer stores is what the SDK and the journal say after
// the launch; quiet launches report once per interval.
func TestLaunchReports(t *testing.T) {
	ctx := context.Background()
	reports := &memory.Reports{}
	now := time.Now().UTC().Truncate(time.Second)
	base := reportWorld(t, reports, &now)
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

func openDevice(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.OpenDevice(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o600))
}

// An installation reports under a random ID kept in its device database,
// with its key and a sequence; a reinstall is a new installation; a
// restored backup on a second phone is told apart from the original at its
// first report and goes on under an ID of its own; a user switch on the
// phone rebinds its ID to the new user.
func TestInstallationIdentity(t *testing.T) {
	ctx := context.Background()
	reports := &memory.Reports{}
	now := time.Now().UTC().Truncate(time.Second)
	base := reportWorld(t, reports, &now)
	dir := t.TempDir()
	path := filepath.Join(dir, "device.db")
	db := openDevice(t, path)
	cfg := reportConfig(t, base, db, &now)
	cfg.Identity, cfg.ReportInterval = db, time.Minute

	rep, err := installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, rep.ReportErr)
	id, key, err := db.InstallationIdentity(ctx, "phone", "")
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{32}$`, id)
	require.Len(t, key, issuer.InstallationKeySize)
	_, ok, err := reports.LatestReport(ctx, "phone")
	require.NoError(t, err)
	require.False(t, ok, "the local key was reported")
	b, ok, err := reports.Binding(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "alice", b.AppUserID)
	require.Equal(t, issuer.HashInstallationKey(key), b.KeyHash)
	require.Equal(t, uint64(1), b.Sequence)

	// A backup of the device database (and its key file), taken now.
	backup := filepath.Join(t.TempDir(), "device.db")
	require.NoError(t, db.Close())
	copyFile(t, path, backup)
	copyFile(t, path+".key", backup+".key")
	db = openDevice(t, path)
	cfg = reportConfig(t, base, db, &now)
	cfg.Identity, cfg.ReportInterval = db, time.Minute

	// The original goes on reporting.
	now = now.Add(2 * time.Minute)
	rep, err = installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, rep.ReportErr)
	require.Equal(t, int64(1), rep.ReportCalls)

	// The backup restored on a new phone: its first report repeats the
	// original's sequence 2 and is refused; it takes a new ID and reports
	// under it, and the original's row is untouched.
	restored := openDevice(t, backup)
	rcfg := reportConfig(t, base, restored, &now)
	rcfg.Identity, rcfg.ReportInterval = restored, time.Minute
	now = now.Add(2 * time.Minute)
	rep, err = installation.Launch(ctx, rcfg)
	require.NoError(t, err)
	require.NoError(t, rep.ReportErr)
	require.Equal(t, int64(2), rep.ReportCalls, "a refused report and its resend")
	newID, _, err := restored.InstallationIdentity(ctx, "phone", "")
	require.NoError(t, err)
	require.NotEqual(t, id, newID)
	_, ok, err = reports.LatestReport(ctx, newID)
	require.NoError(t, err)
	require.True(t, ok)
	b, _, err = reports.Binding(ctx, id)
	require.NoError(t, err)
	require.Equal(t, uint64(2), b.Sequence, "the copy's report reached the original's row")

	// Both go on without meeting again.
	now = now.Add(2 * time.Minute)
	for _, c := range []installation.Config{cfg, rcfg} {
		rep, err = installation.Launch(ctx, c)
		require.NoError(t, err)
		require.NoError(t, rep.ReportErr)
		require.Equal(t, int64(1), rep.ReportCalls)
	}

	// A user switch on the original: bob's session rebinds its ID.
	bobSession, err := issuer.NewSession(reportSecret, "bob", time.Hour, time.Now())
	require.NoError(t, err)
	cfg.Session = bobSession
	cfg.App = signedIn("bob")
	now = now.Add(2 * time.Minute)
	rep, err = installation.Launch(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, rep.ReportErr)
	b, _, err = reports.Binding(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "bob", b.AppUserID)
	hist, err := reports.BindingHistory(ctx, id)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, "alice", hist[0].AppUserID)

	// A reinstall (the device database gone) is a new installation; the
	// old row stays for the audit to find stale.
	fresh := openDevice(t, filepath.Join(t.TempDir(), "device.db"))
	fcfg := reportConfig(t, base, fresh, &now)
	fcfg.Identity = fresh
	rep, err = installation.Launch(ctx, fcfg)
	require.NoError(t, err)
	require.NoError(t, rep.ReportErr)
	freshID, _, err := fresh.InstallationIdentity(ctx, "phone", "")
	require.NoError(t, err)
	require.NotEqual(t, id, freshID)
	require.NotEqual(t, newID, freshID)
	got, _, err := reports.LatestReport(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "bob", got.AppUserID)
}
