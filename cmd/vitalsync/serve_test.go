package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/issuer"
)

const testSessionSecret = "serve-test-secret-0123456789"

// startServe runs "vitalsync serve args…" until the returned cancel, and
// returns everything it printed up to its last banner line, the channel
// run's result arrives on, and its stderr.
func startServe(t *testing.T, args ...string) (string, context.CancelFunc, <-chan error, *emulatortest.LockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	stderr := &emulatortest.LockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), pw, stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "  API key:") || strings.HasPrefix(sc.Text(), "team API:") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	require.Contains(t, banner.String(), "issuer listening on http://127.0.0.1:", "stderr: %s", stderr)
	return banner.String(), cancel, done, stderr
}

// bannerValue returns the value printed after label.
func bannerValue(t *testing.T, banner, label string) string {
	t.Helper()
	for line := range strings.SplitSeq(banner, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in %q", label, banner)
	return ""
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
		return nil
	}
}

func mintSession(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"session"}, args...), strings.NewReader(""), &out, &errOut)
	require.NoError(t, err, "stderr: %s", &errOut)
	return strings.TrimSpace(out.String())
}

func TestServeWithEmulatorEndToEnd(t *testing.T) {
	const apiKey = "sk_us_serve_e2e_key_7c1a"
	db := filepath.Join(t.TempDir(), "issuer.db")
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", db,
		"--api-key", apiKey, "--session-secret", testSessionSecret, "--emulator", "--show-key")
	base := strings.TrimPrefix(bannerValue(t, banner, "issuer listening on"), "")
	require.Equal(t, base, bannerValue(t, banner, "API base URL:"))
	require.Equal(t, base+"/auth", bannerValue(t, banner, "auth base URL:"))
	require.Equal(t, apiKey, bannerValue(t, banner, "API key:"), "emulator mode prints its key for devices")

	session := mintSession(t, "--secret", testSessionSecret, "--user", "alice", "--ttl", "10m")
	ctx := context.Background()
	c := issuer.NewClient(base, session)
	v, tok, err := c.SignInToken(ctx, "alice")
	require.NoError(t, err)
	got, err := c.ResolveVitalUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, v, got)

	// The same address is the devices' API and auth server: the token
	// exchanges there for the same Vital user.
	st, err := junction.DecodeSignInToken(tok, junction.DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, v, st.Claims.UserID)
	tr, err := junction.NewAuthClient(base+"/auth").Exchange(ctx, st.UserToken)
	require.NoError(t, err)
	u, err := junction.NewUserClient(base).GetUser(ctx, tr.AccessToken, v)
	require.NoError(t, err)
	require.Equal(t, "alice", u.ClientUserID)

	resp, err := http.Get(base + issuer.PathHealth)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Another user's session cannot reach alice.
	bob := issuer.NewClient(base, mintSession(t, "--secret", testSessionSecret, "--user", "bob"))
	_, _, err = bob.SignInToken(ctx, "alice")
	require.ErrorIs(t, err, issuer.ErrForbidden)

	cancel()
	require.NoError(t, waitRun(t, done))
	logs := stderr.String()
	require.NotContains(t, logs, apiKey)
	require.NotContains(t, logs, tok)
	require.NotContains(t, logs, session)
	require.Contains(t, logs, "issuer stopped")
}

func TestServeWithAPIURLNeverPrintsKey(t *testing.T) {
	const apiKey = "sk_us_serve_upstream_key_93b2"
	emu := emulator.New(emulator.WithAPIKey(apiKey))
	upstream := httptest.NewServer(emu)
	defer upstream.Close()
	db := filepath.Join(t.TempDir(), "issuer.db")
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", db,
		"--api-key", apiKey, "--session-secret", testSessionSecret, "--api-url", upstream.URL)
	require.NotContains(t, banner, apiKey)
	require.Equal(t, upstream.URL, bannerValue(t, banner, "team API:"))
	base := bannerValue(t, banner, "issuer listening on")

	c := issuer.NewClient(base, mintSession(t, "--secret", testSessionSecret, "--user", "carol"))
	v, _, err := c.SignInToken(context.Background(), "carol")
	require.NoError(t, err)
	require.Equal(t, 1, emu.Requests(emulator.RouteCreateUser))

	// Only the issuer is served: the emulator's routes are not.
	resp, err := http.Post(base+"/v2/user", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	cancel()
	require.NoError(t, waitRun(t, done))
	require.NotContains(t, stderr.String(), apiKey)

	// The map survives a restart: the same user comes back without a create.
	banner, cancel, done, _ = startServe(t, "--addr", "127.0.0.1:0", "--db", db,
		"--api-key", apiKey, "--session-secret", testSessionSecret, "--api-url", upstream.URL)
	c = issuer.NewClient(bannerValue(t, banner, "issuer listening on"), mintSession(t, "--secret", testSessionSecret, "--user", "carol"))
	again, _, err := c.SignInToken(context.Background(), "carol")
	require.NoError(t, err)
	require.Equal(t, v, again)
	require.Equal(t, 1, emu.Requests(emulator.RouteCreateUser))
	cancel()
	require.NoError(t, waitRun(t, done))
}

func TestMountWithEmulatorPassesPathsAsSent(t *testing.T) {
	const apiKey = "sk_us_mount_test_key_51aa"
	var issuerHits atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuerHits.Add(1) })
	srv := httptest.NewServer(routes(h, nil, emulator.New(emulator.WithAPIKey(apiKey))))
	defer srv.Close()
	ctx := context.Background()

	// A client_user_id that a cleaning router would turn into another path.
	team := junction.NewClient(srv.URL, apiKey)
	k, err := team.CreateUser(ctx, "a/../b")
	require.NoError(t, err)
	u, err := team.ResolveUser(ctx, "a/../b")
	require.NoError(t, err)
	require.Equal(t, k.UserID, u.UserID)

	// Unknown paths get the emulator's JSON 404, not a redirect.
	resp, err := http.Get(srv.URL + "//v2/user")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Zero(t, issuerHits.Load())

	for _, p := range issuer.Paths() {
		resp, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, int32(len(issuer.Paths())), issuerHits.Load(), "the issuer's paths reach the issuer")
}

func TestServeUsageErrors(t *testing.T) {
	t.Setenv(envAPIKey, "")
	t.Setenv(envSessionSecret, "")
	db := filepath.Join(t.TempDir(), "x.db")
	for _, args := range [][]string{
		{"--session-secret", testSessionSecret, "--emulator"},                                  // no --db
		{"--db", db, "--emulator"},                                                             // no secret
		{"--db", db, "--session-secret", "short", "--emulator"},                                // short secret
		{"--db", db, "--session-secret", testSessionSecret},                                    // no key, no emulator
		{"--db", db, "--session-secret", testSessionSecret, "--emulator", "--api-url", "x"},    // both
		{"--db", db, "--session-secret", testSessionSecret, "--api-key", "key_without_prefix"}, // unknown prefix
		{"--db", db, "--session-secret", testSessionSecret, "--emulator", "extra"},             // argument
		{"--nope"}, // unknown flag
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"serve"}, args...), strings.NewReader(""), &out, &errOut)
		var ue *usageError
		require.ErrorAs(t, err, &ue, "args %q", args)
		require.Equal(t, 2, exitCode(err, io.Discard))
		require.NotContains(t, out.String()+errOut.String(), testSessionSecret)
	}
	require.NoFileExists(t, db, "usage errors touch nothing")
}

func TestServeListenError(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	addr := strings.TrimPrefix(busy.URL, "http://")
	err := run(context.Background(), []string{"serve", "--addr", addr, "--db", filepath.Join(t.TempDir(), "x.db"),
		"--session-secret", testSessionSecret, "--emulator"}, strings.NewReader(""), io.Discard, io.Discard)
	require.Error(t, err)
	var ue *usageError
	require.False(t, errors.As(err, &ue))
	require.Equal(t, 1, exitCode(err, io.Discard))
}

func TestServeEnvironmentSecrets(t *testing.T) {
	const envKey = "sk_us_from_env_4411"
	t.Setenv(envSessionSecret, testSessionSecret)
	t.Setenv(envAPIKey, envKey)

	// The team API key comes from the environment, and is not printed.
	emu := emulator.New(emulator.WithAPIKey(envKey))
	upstream := httptest.NewServer(emu)
	defer upstream.Close()
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"),
		"--api-url", upstream.URL)
	require.NotContains(t, banner, envKey)
	session := mintSession(t, "--user", "dan") // secret from the environment
	resolveVia(t, banner, session, "dan")
	require.Equal(t, 1, emu.Requests(emulator.RouteCreateUser), "the issuer authenticated with the environment's key")
	cancel()
	require.NoError(t, waitRun(t, done))
	require.NotContains(t, stderr.String(), envKey)

	// The embedded emulator does not take the environment's key, which may
	// be a real one: it makes up its own, which it prints.
	banner, cancel, done, _ = startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"), "--emulator")
	require.NotContains(t, banner, envKey)
	require.Regexp(t, `^sk_us_…[0-9a-f]{4}$`, bannerValue(t, banner, "API key:"), "masked without --show-key")
	resolveVia(t, banner, session, "dan")
	cancel()
	require.NoError(t, waitRun(t, done))
}

func TestAPIURLForKey(t *testing.T) {
	for key, want := range map[string]string{
		"pk_us_x": "https://api.us.junction.com",
		"pk_eu_x": "https://api.eu.junction.com",
		"sk_us_x": "https://api.sandbox.us.junction.com",
		"sk_eu_x": "https://api.sandbox.eu.junction.com",
	} {
		got, ok := apiURLForKey(key)
		require.True(t, ok, key)
		require.Equal(t, want, got, key)
	}
	_, ok := apiURLForKey("xx_us_x")
	require.False(t, ok)
}

// serve reads its session secret and API key from files, so that neither
// sits on the command line; a missing or empty file is a usage error that
// names the file and not its contents.
func TestServeSecretFiles(t *testing.T) {
	t.Setenv(envAPIKey, "")
	t.Setenv(envSessionSecret, "")
	const key = "sk_us_from_file_5512"
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "api.key", key+"\n")
	secretFile := writeFile(t, dir, "session.secret", testSessionSecret)
	emu := emulator.New(emulator.WithAPIKey(key))
	upstream := httptest.NewServer(emu)
	defer upstream.Close()

	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "issuer.db"),
		"--api-url", upstream.URL, "--api-key-file", keyFile, "--session-secret-file", secretFile)
	require.NotContains(t, banner, key)
	session := mintSession(t, "--secret-file", secretFile, "--user", "erin")
	resolveVia(t, banner, session, "erin")
	require.Equal(t, 1, emu.Requests(emulator.RouteCreateUser), "the issuer used the file's key")
	cancel()
	require.NoError(t, waitRun(t, done))
	require.NotContains(t, stderr.String(), key)

	db := filepath.Join(dir, "x.db")
	for name, tc := range map[string]struct {
		args []string
		is   error
	}{
		"missing key file":    {[]string{"--db", db, "--session-secret-file", secretFile, "--api-key-file", filepath.Join(dir, "none")}, fs.ErrNotExist},
		"empty key file":      {[]string{"--db", db, "--session-secret-file", secretFile, "--api-key-file", writeFile(t, dir, "empty", "")}, errEmptySecret},
		"missing secret file": {[]string{"--db", db, "--session-secret-file", filepath.Join(dir, "none"), "--emulator"}, fs.ErrNotExist},
		"secret and file":     {[]string{"--db", db, "--session-secret", testSessionSecret, "--session-secret-file", secretFile, "--emulator"}, nil},
		"bad api url":         {[]string{"--db", db, "--session-secret-file", secretFile, "--api-key-file", keyFile, "--api-url", "api.example.com"}, nil},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"serve"}, tc.args...), strings.NewReader(""), &out, &errOut)
		require.Equal(t, 2, exitCode(err, io.Discard), "%s: %v", name, err)
		if tc.is != nil {
			require.ErrorIs(t, err, tc.is, name)
			var fe *secretFileError
			require.ErrorAs(t, err, &fe, name)
		}
		require.NotContains(t, out.String()+errOut.String(), key, name)
		require.NotContains(t, out.String()+errOut.String(), testSessionSecret, name)
	}
	require.NoFileExists(t, db, "usage errors touch nothing")
}

// resolveVia resolves user's Vital user through the issuer serve's banner
// names, with session.
func resolveVia(t *testing.T, banner, session, user string) {
	t.Helper()
	_, err := issuer.NewClient(bannerValue(t, banner, "issuer listening on"), session).ResolveVitalUser(context.Background(), user)
	require.NoError(t, err)
}
