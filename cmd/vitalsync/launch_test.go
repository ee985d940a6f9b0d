package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/audit"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/issuer"
)

type launchJSON struct {
	Passes []struct {
		Observation map[string]any `json:"observation"`
		Plan        struct {
			Actions  []map[string]string `json:"actions"`
			RetryAt  *string             `json:"retry_at"`
			Terminal bool                `json:"terminal"`
		} `json:"plan"`
		Applied []struct {
			Action map[string]string `json:"action"`
			Error  *struct {
				Class    string `json:"class"`
				SDKError string `json:"sdk_error"`
				Message  string `json:"message"`
			} `json:"error"`
		} `json:"applied"`
	} `json:"passes"`
	Outcome struct {
		Result     string            `json:"result"`
		Applied    []string          `json:"applied"`
		State      string            `json:"state"`
		RetryAt    *string           `json:"retry_at"`
		Class      string            `json:"error_class"`
		Divergence map[string]string `json:"divergence"`
	} `json:"outcome"`
	NetworkCalls *int64 `json:"network_calls"`
	DBWrites     *int64 `json:"db_writes"`
	ReportCalls  *int64 `json:"report_calls"`
}

// requirePlannedJSON asserts, on a printed launch, that every pass applied
// a prefix of its plan's actions, and that only the last may have failed.
func requirePlannedJSON(t *testing.T, rep launchJSON) {
	t.Helper()
	require.NotEmpty(t, rep.Passes)
	for i, p := range rep.Passes {
		require.LessOrEqual(t, len(p.Applied), len(p.Plan.Actions), "pass %d", i+1)
		for k, st := range p.Applied {
			require.Equal(t, p.Plan.Actions[k], st.Action, "pass %d step %d", i+1, k+1)
			if st.Error != nil {
				require.Equal(t, len(p.Applied)-1, k, "pass %d went on after a failure", i+1)
			}
		}
	}
}

// launchRun runs "vitalsync launch --format json args…" and returns the
// decoded report (zero when nothing was printed, else checked with
// requirePlannedJSON), stderr, the exit code and run's error.
func launchRun(t *testing.T, args ...string) (launchJSON, string, int, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	code := exitCode(err, &errOut)
	var rep launchJSON
	if out.Len() > 0 {
		require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "stdout: %s", &out)
		requirePlannedJSON(t, rep)
	}
	return rep, errOut.String(), code, err
}

// launchCmd is launchRun without the exit code.
func launchCmd(t *testing.T, args ...string) (launchJSON, string, error) {
	t.Helper()
	rep, stderr, _, err := launchRun(t, args...)
	return rep, stderr, err
}

// launchCosts runs one launch that must succeed and returns its printed
// costs.
func launchCosts(t *testing.T, args ...string) (network, writes, reports int64) {
	t.Helper()
	rep, stderr, _, err := launchRun(t, args...)
	require.NoError(t, err, stderr)
	require.NotNil(t, rep.ReportCalls)
	return *rep.NetworkCalls, *rep.DBWrites, *rep.ReportCalls
}

// launchServer is "vitalsync serve --emulator" on a loopback port, on the
// issuer database issuerDB, for launches that need a working issuer; stop
// (called at the test's end if not before) stops it.
type launchServer struct {
	base, auth string
	stop       func()
}

func startLaunchServer(t *testing.T, issuerDB string) *launchServer {
	t.Helper()
	banner, cancel, done, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", issuerDB,
		"--session-secret", testSessionSecret, "--emulator")
	base := bannerValue(t, banner, "issuer listening on")
	var once sync.Once
	s := &launchServer{base: base, auth: base + "/auth", stop: func() {
		once.Do(func() {
			cancel()
			require.NoError(t, waitRun(t, done))
		})
	}}
	t.Cleanup(s.stop)
	return s
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestLaunchCommandEndToEnd drives a device database through launches
// against "vitalsync serve --emulator" over loopback, as a person would.
func TestLaunchCommandEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv := startLaunchServer(t, filepath.Join(dir, "issuer.db"))
	base := srv.base
	device := filepath.Join(dir, "device.db")
	common := []string{"--db", device, "--profile", "android-5.0", "--issuer", base, "--api-url", base, "--auth-url", base + "/auth"}
	alice := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	bob := mintSession(t, "--secret", testSessionSecret, "--user", "bob")

	rep, _, err := launchCmd(t, append(common, "--session", alice, "--app-user", "alice")...)
	require.NoError(t, err)
	require.Equal(t, "applied", rep.Outcome.Result)
	require.Equal(t, "token", rep.Outcome.State)
	require.Equal(t, "sign-in", rep.Passes[0].Plan.Actions[0]["type"])
	require.NotNil(t, rep.Passes[0].Observation["sdk"])
	require.Nil(t, rep.Passes[0].Applied[0].Error)
	require.Positive(t, *rep.NetworkCalls)
	require.Positive(t, *rep.DBWrites)

	// A relaunch that agrees costs nothing.
	rep, _, err = launchCmd(t, append(common, "--session", alice, "--app-user", "alice")...)
	require.NoError(t, err)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)
	require.Len(t, rep.Passes, 1)
	require.Empty(t, rep.Passes[0].Plan.Actions)
	require.Zero(t, *rep.NetworkCalls)
	require.Zero(t, *rep.DBWrites)

	rep, _, err = launchCmd(t, append(common, "--session", bob, "--app-user", "bob")...)
	require.NoError(t, err)
	require.Equal(t, []string{"sign-out", "sign-in(from token source)"}, rep.Outcome.Applied)
	require.Equal(t, "token", rep.Outcome.State)

	// A session for alice cannot fetch carol's token: bob's session is ended
	// first (a switch's sign-out is local), then the planner has no rule for
	// the token source's refusal, so the launch ends terminal, with no retry
	// scheduled, and no secret is printed.
	rep, stderr, err := launchCmd(t, append(common, "--session", alice, "--app-user", "carol")...)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err, &bytes.Buffer{}))
	require.Equal(t, "terminal", rep.Outcome.Result)
	require.Equal(t, "terminal", rep.Outcome.Class)
	require.Nil(t, rep.Outcome.RetryAt, "a terminal error is not retried with backoff")
	last := rep.Passes[len(rep.Passes)-1]
	require.True(t, last.Plan.Terminal)
	require.Equal(t, "unknown", rep.Passes[0].Applied[len(rep.Passes[0].Applied)-1].Error.SDKError)
	require.Equal(t, []string{"sign-out"}, rep.Outcome.Applied)
	require.NotContains(t, stderr+err.Error(), alice)

	// The app signs out too: nothing left to do, and nothing sent.
	rep, _, err = launchCmd(t, append(common, "--signed-out")...)
	require.NoError(t, err)
	require.Empty(t, rep.Outcome.Applied)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)
	require.Equal(t, "signed-out", rep.Outcome.State)
	require.Zero(t, *rep.NetworkCalls, "signing out is local")

	// Bob again, then signed out: the sign-out is local.
	rep, _, err = launchCmd(t, append(common, "--session", bob, "--app-user", "bob")...)
	require.NoError(t, err)
	require.Equal(t, "token", rep.Outcome.State)
	rep, _, err = launchCmd(t, append(common, "--signed-out")...)
	require.NoError(t, err)
	require.Equal(t, []string{"sign-out"}, rep.Outcome.Applied)
	require.Equal(t, "signed-out", rep.Outcome.State)
	require.Zero(t, *rep.NetworkCalls, "signing out is local")
	srv.stop()
}

func TestLaunchCommandUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, args := range [][]string{
		{},
		{"--db", db},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "android-5.0"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "android-5.0", "--app-user", "u", "--signed-out", "--session", "s"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "android-5.0", "--app-user", "u"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "ios-9", "--signed-out"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "ios-1.8", "--signed-out", "--format", "xml"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "ios-1.8", "--signed-out", "--region", "ap"},
		{"--bogus"},
	} {
		_, _, err := launchCmd(t, args...)
		require.Error(t, err, "%v", args)
		require.Equal(t, 2, exitCode(err, &bytes.Buffer{}), "%v: %v", args, err)
	}
}

// An unreachable issuer is transient: the launch schedules a retry and the
// next launch before it is due makes no call at all, says it was deferred
// and exits 3.
func TestLaunchCommandBacksOffWhenIssuerIsDown(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--db", filepath.Join(dir, "device.db"), "--profile", "ios-1.8", "--issuer", "http://127.0.0.1:1",
		"--api-url", "http://127.0.0.1:1", "--auth-url", "http://127.0.0.1:1/auth", "--session", "s", "--app-user", "alice"}
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err, io.Discard))
	var first map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &first))
	outcome := first["outcome"].(map[string]any)
	require.Equal(t, "failed", outcome["result"])
	require.Equal(t, "transient", outcome["error_class"])
	require.NotNil(t, outcome["retry_at"])

	rep, _, err := launchCmd(t, args...)
	var de *deferredError
	require.ErrorAs(t, err, &de)
	require.Equal(t, exitDeferred, exitCode(err, io.Discard))
	require.Equal(t, "deferred", rep.Outcome.Result)
	require.NotNil(t, rep.Outcome.RetryAt)
	require.NotNil(t, rep.Passes[0].Plan.RetryAt)
	require.Zero(t, *rep.NetworkCalls)
	require.Zero(t, *rep.DBWrites)
}

// TestLaunchLegacyProfile: a launch on a legacy profile signs in through
// the emulator's legacy Firebase routes, given as --legacy-auth-url; without
// it the device would call the real Google hosts.
func TestLaunchLegacyProfile(t *testing.T) {
	dir := t.TempDir()
	base := startLaunchServer(t, filepath.Join(dir, "issuer.db")).base
	alice := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	common := []string{"--db", filepath.Join(dir, "device.db"), "--profile", "android-4.2.0", "--issuer", base,
		"--api-url", base, "--auth-url", base + "/auth", "--legacy-auth-url", base, "--session", alice, "--app-user", "alice"}
	rep, _, err := launchCmd(t, common...)
	require.NoError(t, err)
	require.Equal(t, "applied", rep.Outcome.Result)
	require.Equal(t, "token", rep.Outcome.State)
	rep, _, err = launchCmd(t, common...)
	require.NoError(t, err)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)

	_, _, err = launchCmd(t, append(common[:len(common)-6:len(common)-6], "--legacy-auth-url", "ftp://x", "--session", alice, "--app-user", "alice")...)
	require.Error(t, err, "a bad URL is a usage error")
}

// The session reaches launch from a file or the environment, so it never
// sits on the command line; the flag still works; a flag or file wins over
// the environment; a missing or empty file is a usage error naming it.
func TestLaunchSessionSources(t *testing.T) {
	s := startLaunchServer(t, filepath.Join(t.TempDir(), "issuer.db"))
	dir := t.TempDir()
	alice := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	common := func(db string) []string {
		return []string{"--db", filepath.Join(dir, db), "--profile", "android-5.0", "--issuer", s.base,
			"--api-url", s.base, "--auth-url", s.auth, "--app-user", "alice"}
	}
	goodFile := writeFile(t, dir, "alice.session", alice+"\n")
	emptyFile := writeFile(t, dir, "empty.session", " \n")

	for _, tc := range []struct {
		name, env, db string
		args          []string
	}{
		{"file", "", "file.db", []string{"--session-file", goodFile}},
		{"environment", alice, "env.db", nil},
		{"file wins over environment", "v1.not.valid", "filewins.db", []string{"--session-file", goodFile}},
		{"flag wins over environment", "v1.not.valid", "flagwins.db", []string{"--session", alice}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envSession, tc.env)
			rep, stderr, code, _ := launchRun(t, append(common(tc.db), tc.args...)...)
			require.Zero(t, code, stderr)
			require.Equal(t, "applied", rep.Outcome.Result)
		})
	}
	t.Run("flag and file", func(t *testing.T) {
		_, _, code, _ := launchRun(t, append(common("both.db"), "--session", alice, "--session-file", goodFile)...)
		require.Equal(t, 2, code)
	})
	t.Run("missing file", func(t *testing.T) {
		t.Setenv(envSession, alice)
		missing := filepath.Join(dir, "no-such.session")
		_, stderr, code, err := launchRun(t, append(common("missing.db"), "--session-file", missing)...)
		require.Equal(t, 2, code)
		require.ErrorIs(t, err, fs.ErrNotExist)
		var fe *secretFileError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, missing, fe.Path)
		require.Contains(t, stderr, "--session-file")
		require.NoFileExists(t, filepath.Join(dir, "missing.db"), "nothing was opened")
	})
	t.Run("empty file", func(t *testing.T) {
		_, _, code, err := launchRun(t, append(common("empty.db"), "--session-file", emptyFile)...)
		require.Equal(t, 2, code)
		require.ErrorIs(t, err, httpops.ErrEmptySecret)
	})
	t.Run("none", func(t *testing.T) {
		t.Setenv(envSession, "")
		_, stderr, code, _ := launchRun(t, common("none.db")...)
		require.Equal(t, 2, code)
		require.Contains(t, stderr, "--session-file")
	})
	// The session never reaches the output.
	t.Run("no echo", func(t *testing.T) {
		t.Setenv(envSession, alice)
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"launch"}, common("echo.db")...), strings.NewReader(""), &out, &errOut)
		require.NoError(t, err)
		require.NotContains(t, out.String()+errOut.String(), alice)
	})
}

// A device database remembers the base URLs it was first used with, uses
// them when none are given, refuses others unless told, and without either
// refuses instead of calling the real Junction hosts.
func TestLaunchRemembersBaseURLs(t *testing.T) {
	s := startLaunchServer(t, filepath.Join(t.TempDir(), "issuer.db"))
	t.Setenv(envSession, mintSession(t, "--secret", testSessionSecret, "--user", "alice"))
	db := filepath.Join(t.TempDir(), "device.db")
	base := []string{"--db", db, "--profile", "ios-1.8", "--issuer", s.base, "--app-user", "alice"}

	_, stderr, code, err := launchRun(t, base...)
	require.Equal(t, 2, code)
	require.ErrorIs(t, err, sqlite.ErrNoEndpoints)
	require.Contains(t, stderr, "--api-url")
	require.Contains(t, stderr, "--auth-url")

	_, _, code, err = launchRun(t, append(base, "--api-url", s.base)...)
	require.Equal(t, 2, code, "the auth URL is missing")
	require.ErrorIs(t, err, sqlite.ErrNoEndpoints)

	rep, stderr, code, _ := launchRun(t, append(base, "--api-url", s.base+"/", "--auth-url", s.auth)...)
	require.Zero(t, code, stderr)
	require.Equal(t, "applied", rep.Outcome.Result)

	// Nothing given: the remembered URLs; the launch is quiet.
	rep, stderr, code, _ = launchRun(t, base...)
	require.Zero(t, code, stderr)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)

	// Another host is refused and changes nothing.
	other := "https://api.sandbox.us.junction.com"
	_, stderr, code, err = launchRun(t, append(base, "--api-url", other)...)
	require.Equal(t, 2, code)
	require.ErrorIs(t, err, sqlite.ErrEndpointsChanged)
	require.Contains(t, stderr, "--allow-url-change")
	sdb, err := sqlite.OpenDevice(context.Background(), db)
	require.NoError(t, err)
	got, found, err := sdb.LoadEndpoints(context.Background())
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, s.base, got.APIBaseURL, "normalised without the trailing slash")
	require.Equal(t, s.auth, got.AuthBaseURL)
	require.NoError(t, sdb.Close())

	// Told to, it switches (here to the same stack under another spelling
	// of its host) and remembers the new ones.
	localhost := strings.Replace(s.base, "127.0.0.1", "LOCALHOST", 1)
	rep, stderr, code, _ = launchRun(t, append(base, "--api-url", localhost, "--auth-url", localhost+"/auth", "--allow-url-change")...)
	require.Zero(t, code, stderr)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)
	sdb, err = sqlite.OpenDevice(context.Background(), db)
	require.NoError(t, err)
	got, _, err = sdb.LoadEndpoints(context.Background())
	require.NoError(t, err)
	require.Equal(t, strings.ToLower(localhost), got.APIBaseURL)
	require.NoError(t, sdb.Close())
}

// URL flags are checked when parsed: scheme http or https, a host, no
// credentials; a bad one is a usage error before anything is opened.
func TestLaunchURLFlagsValidated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "device.db")
	for _, bad := range []string{"localhost:8080", "ftp://host", "http://", "http:///path", "https://user:pw@host", "http://host/?q=1", "//host", "not a url", "http://host/#frag"} {
		for _, flagName := range []string{"--issuer", "--api-url", "--auth-url"} {
			args := []string{"--db", db, "--profile", "ios-1.8", "--issuer", "http://127.0.0.1:1", "--signed-out",
				"--api-url", "http://127.0.0.1:1", "--auth-url", "http://127.0.0.1:1/auth", flagName, bad}
			_, stderr, code, err := launchRun(t, args...)
			require.Equal(t, 2, code, "%s %q", flagName, bad)
			require.Contains(t, stderr, flagName[2:], "%s %q", flagName, bad)
			var ue *usageError
			require.ErrorAs(t, err, &ue, "%s %q", flagName, bad)
		}
	}
	require.NoFileExists(t, db)
	for _, good := range []string{"http://127.0.0.1:1", "HTTPS://Example.COM/base/", "http://[::1]:8080/auth"} {
		_, err := junction.ParseBaseURL(good)
		require.NoError(t, err, good)
	}
	_, err := junction.ParseBaseURL("ftp://x")
	require.ErrorIs(t, err, junction.ErrBadBaseURL)
}

// A developer who fixed what made the last attempt fail passes --now: the
// pending backoff is ignored and the launch acts at once.
func TestLaunchNowIgnoresBackoff(t *testing.T) {
	s := startLaunchServer(t, filepath.Join(t.TempDir(), "issuer.db"))
	t.Setenv(envSession, mintSession(t, "--secret", testSessionSecret, "--user", "alice"))
	db := filepath.Join(t.TempDir(), "device.db")
	common := []string{"--db", db, "--profile", "android-5.0", "--api-url", s.base, "--auth-url", s.auth, "--app-user", "alice"}

	// A wrong issuer URL: a transient failure and a backoff.
	_, _, code, _ := launchRun(t, append(common, "--issuer", "http://127.0.0.1:1")...)
	require.Equal(t, 1, code)

	// Fixed, but the backoff still holds: deferred, exit 3, no call, and
	// the table says so.
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch"}, append(common, "--issuer", s.base)...), strings.NewReader(""), &out, &errOut)
	require.Equal(t, exitDeferred, exitCode(err, &errOut))
	var de *deferredError
	require.ErrorAs(t, err, &de)
	require.False(t, de.retryAt.IsZero())
	require.Contains(t, out.String(), "deferred")
	require.Contains(t, out.String(), "--now")
	require.Contains(t, errOut.String(), "--now")

	rep, stderr, code, _ := launchRun(t, append(common, "--issuer", s.base, "--now")...)
	require.Zero(t, code, stderr)
	require.Equal(t, "applied", rep.Outcome.Result)
	require.Positive(t, *rep.NetworkCalls)
	require.Equal(t, "token", rep.Outcome.State)

	// --now with no backoff pending writes nothing: a quiet launch stays quiet.
	sdb, err := sqlite.OpenDevice(context.Background(), db)
	require.NoError(t, err)
	before, err := sdb.JournalEvents(context.Background(), "default", 0)
	require.NoError(t, err)
	require.NoError(t, sdb.Close())
	rep, stderr, code, _ = launchRun(t, append(common, "--issuer", s.base, "--now")...)
	require.Zero(t, code, stderr)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)
	sdb, err = sqlite.OpenDevice(context.Background(), db)
	require.NoError(t, err)
	after, err := sdb.JournalEvents(context.Background(), "default", 0)
	require.NoError(t, err)
	require.NoError(t, sdb.Close())
	require.Equal(t, before, after, "no journal write")
}

// An app user ID the issuer would refuse is a usage error before anything
// is opened, so it never reaches the journal or the output.
func TestLaunchRefusesUnusableAppUser(t *testing.T) {
	db := filepath.Join(t.TempDir(), "device.db")
	for _, bad := range []string{"bob\n  sdk forged", " alice", "\x1b[2J", strings.Repeat("x", 257)} {
		_, stderr, code, err := launchRun(t, "--db", db, "--profile", "ios-1.8", "--issuer", "http://127.0.0.1:1",
			"--api-url", "http://127.0.0.1:1", "--auth-url", "http://127.0.0.1:1/auth", "--session", "s", "--app-user", bad)
		require.Equal(t, 2, code, "%q", bad)
		require.ErrorIs(t, err, issuer.ErrInvalidAppUser)
		require.NotContains(t, stderr, bad)
	}
	require.NoFileExists(t, db)
}

func TestLaunchHelpDocumentsExitCodes(t *testing.T) {
	var out bytes.Buffer // help goes to stdout
	err := run(context.Background(), []string{"launch", "--help"}, strings.NewReader(""), &out, io.Discard)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"exit codes", "3  deferred", "--session-file", envSession, "--allow-url-change", "--now"} {
		require.Contains(t, out.String(), want)
	}
}

// Launches report to "vitalsync serve --emulator" over loopback: after a
// launch that acted, and when quiet only once the interval has passed; the
// issuer's database then audits as the fleet of one it is.
func TestLaunchReportsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	issuerDB := filepath.Join(dir, "issuer.db")
	srv := startLaunchServer(t, issuerDB)
	base := srv.base
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

	srv.stop()

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
	srv := startLaunchServer(t, issuerDB)
	base := srv.base
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
	srv.stop()

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
