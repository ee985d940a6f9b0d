package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/audit"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
)

// launchCosts runs one launch and returns its printed costs.
func launchCosts(t *testing.T, args ...string) (network, writes, reports int64) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	require.NoError(t, err, errOut.String())
	var rep struct {
		NetworkCalls int64  `json:"network_calls"`
		DBWrites     int64  `json:"db_writes"`
		ReportCalls  *int64 `json:"report_calls"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.NotNil(t, rep.ReportCalls)
	return rep.NetworkCalls, rep.DBWrites, *rep.ReportCalls
}

// Launches report to "vitalsync serve --emulator" over loopback: after a
// launch that acted, and when quiet only once the interval has passed; the
// issuer's database then audits as the fleet of one it is.
func TestLaunchReportsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	issuerDB := filepath.Join(dir, "issuer.db")
	base, cancel, done := serveWithEmulator(t, issuerDB)
	alice := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	common := []string{"--db", filepath.Join(dir, "device.db"), "--profile", "android-5.0", "--issuer", base,
		"--api-url", base, "--auth-url", base + "/auth", "--session", alice, "--app-user", "alice",
		"--installation", "phone-1", "--sdk-version", "4.3.0"}

	network, _, reports := launchCosts(t, common...)
	require.Positive(t, network)
	require.Equal(t, int64(1), reports, "a launch that acted reports")

	network, writes, reports := launchCosts(t, common...)
	require.Zero(t, network+writes+reports, "a quiet launch inside the interval costs nothing")

	network, writes, reports = launchCosts(t, append(common, "--report-interval", "1ns")...)
	require.Zero(t, network)
	require.Equal(t, int64(1), reports, "a quiet launch past the interval reports")
	require.Equal(t, int64(2), writes, "its sequence before it, and when after")

	_, _, reports = launchCosts(t, append(common, "--report-interval", "0")...)
	require.Zero(t, reports, "0 turns quiet reports off")

	// Another user's report is refused; a report with an unknown field is
	// refused naming it.
	ctx := context.Background()
	c := issuer.NewClient(base, alice)
	r := issuer.Report{InstallationID: "phone-2", Platform: fsm.IOS, SDKVersion: "1.8.5", Profile: "ios-1.8",
		AppSignedIn: true, AppUserID: "bob", ReportedAt: time.Now()}
	_, err := c.SendReport(ctx, r)
	require.ErrorIs(t, err, issuer.ErrForbidden)
	body := `{"installation_id":"p","platform":"ios","sdk_version":"1.8.5","app_signed_in":false,"sdk_status":[],"reported_at":"2026-11-20T00:00:00Z","colour":"red"}`
	req, err := http.NewRequest(http.MethodPost, base+issuer.PathInstallationReport, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+alice)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(msg), "colour")

	cancel()
	require.NoError(t, waitRun(t, done))

	out, errOut, code := runCLI("", "audit", "--db", issuerDB, "--format", "json")
	require.Zero(t, code, errOut)
	var sum audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, int64(1), sum.Rows)
	require.Equal(t, map[audit.Class]int64{"consistent": 1}, sum.Classes)
	require.Equal(t, int64(1), sum.ByProfile["android-5.0"]["consistent"])
}

// Without --installation, each device database reports under its own
// random installation ID (issue: every device reported as "default", and
// two users' devices replaced each other's row).
func TestLaunchReportsUnderOwnInstallationID(t *testing.T) {
	dir := t.TempDir()
	issuerDB := filepath.Join(dir, "issuer.db")
	base, cancel, done := serveWithEmulator(t, issuerDB)
	ids := map[string]string{}
	for _, user := range []string{"alice", "bob"} {
		session := mintSession(t, "--secret", testSessionSecret, "--user", user)
		device := filepath.Join(dir, user+".db")
		_, _, reports := launchCosts(t, "--db", device, "--profile", "android-5.0", "--issuer", base,
			"--api-url", base, "--auth-url", base+"/auth", "--session", session, "--app-user", user,
			"--sdk-version", "4.3.0")
		require.Equal(t, int64(1), reports)
		db, err := sqlite.OpenDevice(context.Background(), device)
		require.NoError(t, err)
		id, _, err := db.InstallationIdentity(context.Background(), "default", "")
		require.NoError(t, err)
		require.NoError(t, db.Close())
		require.Regexp(t, `^[0-9a-f]{32}$`, id)
		ids[user] = id
	}
	require.NotEqual(t, ids["alice"], ids["bob"])
	cancel()
	require.NoError(t, waitRun(t, done))

	db, err := sqlite.OpenIssuer(context.Background(), issuerDB)
	require.NoError(t, err)
	defer db.Close()
	for user, id := range ids {
		r, ok, err := db.LatestReport(context.Background(), id)
		require.NoError(t, err)
		require.True(t, ok, "no report of %s's installation", user)
		require.Equal(t, user, r.AppUserID)
		b, ok, err := db.Binding(context.Background(), id)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, user, b.AppUserID)
		require.NotNil(t, b.KeyHash)
		require.Equal(t, uint64(1), b.Sequence)
	}
	_, ok, err := db.LatestReport(context.Background(), "default")
	require.NoError(t, err)
	require.False(t, ok)
}

// serveWithEmulator starts "vitalsync serve --emulator" on issuerDB and
// returns its base URL.
func serveWithEmulator(t *testing.T, issuerDB string) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	banner, cancel, done, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", issuerDB,
		"--session-secret", testSessionSecret, "--emulator")
	return bannerValue(t, banner, "issuer listening on"), cancel, done
}
