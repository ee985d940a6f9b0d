package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/issuer"
)

// launchStack is "vitalsync serve --emulator" on a loopback port, for
// launches that need a working issuer.
type launchStack struct {
	base, auth string
	cancel     context.CancelFunc
	done       <-chan error
}

func startLaunchStack(t *testing.T) *launchStack {
	t.Helper()
	banner, cancel, done, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"),
		"--session-secret", testSessionSecret, "--emulator")
	base := bannerValue(t, banner, "issuer listening on")
	s := &launchStack{base: base, auth: base + "/auth", cancel: cancel, done: done}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, waitRun(t, done))
	})
	return s
}

// launchRun runs "vitalsync launch --format json args…" and returns the
// decoded report (zero when nothing was printed), stderr and the exit code.
func launchRun(t *testing.T, args ...string) (launchJSON, string, int, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	code := exitCode(err, &errOut)
	var rep launchJSON
	if out.Len() > 0 {
		require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "stdout: %s", &out)
	}
	return rep, errOut.String(), code, err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// The session reaches launch from a file or the environment, so it never
// sits on the command line; the flag still works; a flag or file wins over
// the environment; a missing or empty file is a usage error naming it.
func TestLaunchSessionSources(t *testing.T) {
	s := startLaunchStack(t)
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
		require.ErrorIs(t, err, errEmptySecret)
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
	s := startLaunchStack(t)
	t.Setenv(envSession, mintSession(t, "--secret", testSessionSecret, "--user", "alice"))
	db := filepath.Join(t.TempDir(), "device.db")
	base := []string{"--db", db, "--profile", "ios-1.8", "--issuer", s.base, "--app-user", "alice"}

	_, stderr, code, err := launchRun(t, base...)
	require.Equal(t, 2, code)
	require.ErrorIs(t, err, errNoEndpoints)
	require.Contains(t, stderr, "--api-url")
	require.Contains(t, stderr, "--auth-url")

	_, _, code, err = launchRun(t, append(base, "--api-url", s.base)...)
	require.Equal(t, 2, code, "the auth URL is missing")
	require.ErrorIs(t, err, errNoEndpoints)

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
		_, err := parseBaseURL(good)
		require.NoError(t, err, good)
	}
	_, err := parseBaseURL("ftp://x")
	require.ErrorIs(t, err, errBadURL)
}

// A developer who fixed what made the last attempt fail passes --now: the
// pending backoff is ignored and the launch acts at once.
func TestLaunchNowIgnoresBackoff(t *testing.T) {
	s := startLaunchStack(t)
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
