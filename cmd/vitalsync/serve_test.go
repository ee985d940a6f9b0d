package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/issuer"
)

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
		"empty key file":      {[]string{"--db", db, "--session-secret-file", secretFile, "--api-key-file", writeFile(t, dir, "empty", "")}, httpops.ErrEmptySecret},
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

func TestServeLogsMetricsAndHealth(t *testing.T) {
	const apiKey = "sk_us_serve_ops_key_61d0"
	emu := emulator.New(emulator.WithAPIKey(apiKey))
	upstream := httptest.NewServer(emu)
	defer upstream.Close()
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"),
		"--api-key", apiKey, "--session-secret", testSessionSecret, "--api-url", upstream.URL,
		"--log-format", "json", "--log-level", "info")
	base := bannerValue(t, banner, "issuer listening on")
	session := mintSession(t, "--secret", testSessionSecret, "--user", "fay")
	_, tok, err := issuer.NewClient(base, session).SignInToken(context.Background(), "fay")
	require.NoError(t, err)

	status, body := get(t, base+issuer.PathHealth)
	require.Equal(t, http.StatusOK, status, body)
	status, body = get(t, base+httpops.PathReady)
	require.Equal(t, http.StatusOK, status, body)
	var ready httpops.ReadyBody
	require.NoError(t, json.Unmarshal([]byte(body), &ready))
	require.Equal(t, httpops.ReadyBody{Status: "ready", Checks: map[string]string{"database": "ok", "team_api": "ok"}}, ready)
	status, _ = get(t, base+"/no/such/route?app_user_id=fay")
	require.Equal(t, http.StatusNotFound, status)

	status, metrics := get(t, base+issuer.PathMetrics)
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{
		"\nvitalsync_build_info{",
		"\ngo_goroutines ",
		"\nprocess_cpu_seconds_total ",
		"\nvitalsync_issuer_tokens_issued_total 1\n",
		"\nvitalsync_team_api_dials_total 1\n", // create and mint on one connection
		"\n" + `vitalsync_issuer_requests_total{code="200",route="/v1/sign-in-token"} 1` + "\n",
		"\n" + `vitalsync_issuer_requests_total{code="404",route="other"} 1` + "\n",
	} {
		require.Contains(t, metrics, want)
	}
	if promtool, err := exec.LookPath("promtool"); err != nil {
		t.Log("promtool not installed (Debian package prometheus): skipping promtool check metrics")
	} else {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metrics)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool check metrics: %s", out)
	}

	cancel()
	require.NoError(t, waitRun(t, done))
	logs := stderr.String()
	for _, secret := range []string{apiKey, session, tok, testSessionSecret} {
		require.NotContains(t, logs, secret)
	}
	// One line per request, in JSON, with its method, route, status and
	// duration; the query is not logged.
	var requests []map[string]any
	var msgs []string
	for _, l := range jsonLines(t, logs) {
		msgs = append(msgs, l["msg"].(string))
		if l["msg"] == "request" {
			requests = append(requests, l)
		}
	}
	require.Len(t, requests, 5, "%s", logs)
	want := [][2]any{
		{issuer.PathSignInToken, 200.0}, {issuer.PathHealth, 200.0}, {httpops.PathReady, 200.0}, {"other", 404.0}, {issuer.PathMetrics, 200.0},
	}
	for i, r := range requests {
		require.Equal(t, want[i][0], r["route"], "line %d", i)
		require.Equal(t, want[i][1], r["status"], "line %d", i)
		require.Contains(t, r, "method")
		require.Contains(t, r, "duration")
		require.Equal(t, "INFO", r["level"])
	}
	require.NotContains(t, logs, "app_user_id=fay")
	require.Contains(t, msgs, "issuer shutdown started")
	require.Contains(t, msgs, "issuer shutdown finished")
	require.NotContains(t, msgs, "issuer request", "the issuer's own line is at debug level")
}

func TestServeReadyzNamesWhatFailed(t *testing.T) {
	const apiKey = "sk_us_serve_ready_key_0c3e"
	// An upstream that is gone, and one that answers too late.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	for name, tc := range map[string]struct {
		url, result string
	}{
		"unreachable": {gone.URL, httpops.CheckFailed},
		"too slow":    {slow.URL, httpops.CheckTimeout},
	} {
		banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"),
			"--api-key", apiKey, "--session-secret", testSessionSecret, "--api-url", tc.url, "--ready-timeout", "300ms")
		began := time.Now()
		status, body := get(t, bannerValue(t, banner, "issuer listening on")+httpops.PathReady)
		require.Less(t, time.Since(began), 5*time.Second, "%s: within the budget", name)
		require.Equal(t, http.StatusServiceUnavailable, status, name)
		var ready httpops.ReadyBody
		require.NoError(t, json.Unmarshal([]byte(body), &ready))
		require.Equal(t, httpops.ReadyBody{Status: "not_ready", Checks: map[string]string{"database": "ok", "team_api": tc.result}}, ready, name)
		require.NotContains(t, body, apiKey)
		cancel()
		require.NoError(t, waitRun(t, done))
		require.Contains(t, stderr.String(), "readiness check failed")
		require.NotContains(t, stderr.String(), apiKey)
	}
}

// On SIGTERM (the context's end) the listener closes at once and a request
// in flight still gets its answer.
func TestServeShutdownFinishesInFlightRequests(t *testing.T) {
	const apiKey = "sk_us_serve_shutdown_key_77ab"
	emu := emulator.New(emulator.WithAPIKey(apiKey))
	reached := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			once.Do(func() {
				close(reached)
				<-release
			})
		}
		emu.ServeHTTP(w, r)
	}))
	defer upstream.Close()
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"),
		"--api-key", apiKey, "--session-secret", testSessionSecret, "--api-url", upstream.URL, "--shutdown-timeout", "20s")
	base := bannerValue(t, banner, "issuer listening on")
	session := mintSession(t, "--secret", testSessionSecret, "--user", "gus")
	type answer struct {
		v   string
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		v, _, err := issuer.NewClient(base, session).SignInToken(context.Background(), "gus")
		answered <- answer{v, err}
	}()
	<-reached
	cancel()
	// New connections are refused once shutdown has begun.
	addr := strings.TrimPrefix(base, "http://")
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, 5*time.Second, 10*time.Millisecond, "the listener closes")
	select {
	case err := <-done:
		t.Fatalf("serve returned with a request in flight: %v", err)
	default:
	}
	close(release)
	a := <-answered
	require.NoError(t, a.err)
	require.NotEmpty(t, a.v)
	require.NoError(t, waitRun(t, done))
	logs := stderr.String()
	require.Less(t, strings.Index(logs, "issuer shutdown started"), strings.Index(logs, "issuer shutdown finished"))
	require.Contains(t, logs, "clean=true")
}

// A request outliving --shutdown-timeout is cut off, and serve says so.
func TestServeShutdownTimeout(t *testing.T) {
	const apiKey = "sk_us_serve_cutoff_key_19fe"
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		<-release
	}))
	defer upstream.Close()
	defer close(release)
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "issuer.db"),
		"--api-key", apiKey, "--session-secret", testSessionSecret, "--api-url", upstream.URL, "--shutdown-timeout", "100ms")
	base := bannerValue(t, banner, "issuer listening on")
	session := mintSession(t, "--secret", testSessionSecret, "--user", "hal")
	go func() { _, _, _ = issuer.NewClient(base, session).SignInToken(context.Background(), "hal") }()
	<-reached
	cancel()
	err := waitRun(t, done)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, stderr.String(), "clean=false")
}

func TestServeOperationalUsageErrors(t *testing.T) {
	t.Setenv(envAPIKey, "")
	t.Setenv(envSessionSecret, "")
	t.Setenv(envDatabaseURL, "")
	db := filepath.Join(t.TempDir(), "x.db")
	common := []string{"--db", db, "--session-secret", testSessionSecret, "--emulator"}
	for _, extra := range [][]string{
		{"--log-format", "xml"},
		{"--log-level", "verbose"},
		{"--shutdown-timeout", "-1s"},
		{"--ready-timeout", "0s"},
		{"--api-idle-conns", "0"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(append([]string{"serve"}, common...), extra...), strings.NewReader(""), &out, &errOut)
		var ue *usageError
		require.ErrorAs(t, err, &ue, "args %q", extra)
	}
	// No --db and no $DATABASE_URL.
	err := run(context.Background(), []string{"serve", "--session-secret", testSessionSecret, "--emulator"}, strings.NewReader(""), io.Discard, io.Discard)
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	require.NoFileExists(t, db, "usage errors touch nothing")
}

// $DATABASE_URL names the database when --db is not given.
func TestServeDatabaseFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "from-env.db")
	t.Setenv(envDatabaseURL, db)
	banner, cancel, done, _ := startServe(t, "--addr", "127.0.0.1:0", "--session-secret", testSessionSecret, "--emulator")
	require.Equal(t, db, bannerValue(t, banner, "user map:"))
	session := mintSession(t, "--secret", testSessionSecret, "--user", "ida")
	resolveVia(t, banner, session, "ida")
	cancel()
	require.NoError(t, waitRun(t, done))
	require.FileExists(t, db)
}

// A database URL's password never reaches the banner, the logs or an
// error: not when the database is down, not when serve runs on it.
func TestServeHidesTheDatabasePassword(t *testing.T) {
	const password = "pg-pass-8d1e55"
	t.Setenv(envDatabaseURL, "postgres://issuer:"+password+"@127.0.0.1:1/none?connect_timeout=2")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--session-secret", testSessionSecret, "--emulator"},
		strings.NewReader(""), &out, &errOut)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err, io.Discard))
	require.NotContains(t, err.Error()+out.String()+errOut.String(), password)

	// With a server: trust authentication ignores the password, which the
	// banner shows masked.
	u, perr := url.Parse(pgtest.URL(t))
	require.NoError(t, perr)
	u.User = url.UserPassword(u.User.Username(), password)
	t.Setenv(envDatabaseURL, u.String())
	banner, cancel, done, stderr := startServe(t, "--addr", "127.0.0.1:0", "--session-secret", testSessionSecret, "--emulator")
	require.Contains(t, bannerValue(t, banner, "user map:"), "xxxxx")
	cancel()
	require.NoError(t, waitRun(t, done))
	require.NotContains(t, banner+stderr.String(), password)
}

// /readyz runs its checks once per interval however often it is asked, at
// once or in a row (issue: 500 unauthenticated requests made 500 team API
// calls), and a change shows once the interval has passed.
func TestReadyChecksAreCachedAndShared(t *testing.T) {
	var calls atomic.Int64
	var failing atomic.Bool
	release := make(chan struct{})
	h := httpops.ReadyEvery(slog.New(slog.DiscardHandler), time.Second, 300*time.Millisecond,
		httpops.Check{Name: "team_api", Func: func(context.Context) error {
			calls.Add(1)
			<-release
			if failing.Load() {
				return errors.New("down")
			}
			return nil
		}})
	ask := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, httpops.PathReady, nil))
		return rec.Code
	}
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i] = ask() })
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for _, c := range codes {
		require.Equal(t, http.StatusOK, c)
	}
	for range 450 {
		require.Equal(t, http.StatusOK, ask())
	}
	require.Equal(t, int64(1), calls.Load(), "500 requests, one check")

	failing.Store(true)
	require.Eventually(t, func() bool { return ask() == http.StatusServiceUnavailable }, 3*time.Second, 50*time.Millisecond)
	require.LessOrEqual(t, calls.Load(), int64(12))
}

// On serve with a SQLite database, /readyz says not ready once a write
// would fail (the file made immutable under it), and a write the issuer
// cannot make is a 503 store_unavailable with Retry-After, not a 500.
func TestServeReadinessMeetsWritesThatFail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	banner, _, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", path, "--session-secret", testSessionSecret,
		"--emulator", "--ready-interval", "100ms")
	base := bannerValue(t, banner, "issuer listening on")
	status, _ := get(t, base+httpops.PathReady)
	require.Equal(t, http.StatusOK, status)
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i unavailable here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	require.Eventually(t, func() bool {
		status, body := get(t, base+httpops.PathReady)
		return status == http.StatusServiceUnavailable && strings.Contains(body, `"database":"failed"`)
	}, 5*time.Second, 100*time.Millisecond)

	// The WAL too: now every write fails.
	if out, err := exec.Command("chattr", "+i", path+"-wal").CombinedOutput(); err != nil {
		t.Fatalf("chattr +i on the WAL: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path+"-wal").Run() })
	session := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	r := issuer.Report{InstallationID: "phone-1", Platform: "ios", SDKVersion: "1.8.5", Profile: "ios-1.8",
		AppSignedIn: true, AppUserID: "alice", ReportedAt: time.Now()}
	var ie *issuer.Error
	_, err := issuer.NewClient(base, session).SendReport(context.Background(), r)
	require.ErrorAs(t, err, &ie)
	require.Equal(t, http.StatusServiceUnavailable, ie.Status, "%v", err)
	require.Equal(t, issuer.CodeStoreUnavailable, ie.Code)
	require.Equal(t, issuer.StoreRetryAfter, ie.RetryAfter)
	require.True(t, ie.Transient())
}

func TestSessionPrintsVerifiableToken(t *testing.T) {
	s := mintSession(t, "--secret", testSessionSecret, "--user", "alice", "--ttl", "2h")
	a, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), time.Now)
	require.NoError(t, err)
	user, err := a.Verify(s)
	require.NoError(t, err)
	require.Equal(t, "alice", user)

	late, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), func() time.Time { return time.Now().Add(3 * time.Hour) })
	require.NoError(t, err)
	_, err = late.Verify(s)
	require.ErrorIs(t, err, issuer.ErrSessionExpired, "--ttl is honoured")

	other, err := issuer.NewHMACAuthenticator([]byte("a-different-secret-0123456789"), time.Now)
	require.NoError(t, err)
	_, err = other.Verify(s)
	require.ErrorIs(t, err, issuer.ErrInvalidSession)
}

func TestSessionUsageErrors(t *testing.T) {
	t.Setenv(envSessionSecret, "")
	for _, args := range [][]string{
		{"--user", "alice"},                                 // no secret
		{"--secret", testSessionSecret},                     // no user
		{"--secret", "short", "--user", "alice"},            // short secret
		{"--secret", testSessionSecret, "--user", " alice"}, // unusable user ID
		{"--secret", testSessionSecret, "--user", "alice", "--ttl", "0s"},
		{"--secret", testSessionSecret, "--user", "alice", "--ttl", "soon"},
		{"--secret", testSessionSecret, "--user", "alice", "extra"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"session"}, args...), strings.NewReader(""), &out, io.Discard)
		require.Equal(t, 2, exitCode(err, io.Discard), "args %q: %v", args, err)
		require.Empty(t, out.String())
	}
}

// --ttl is bounded: at least a second, at most issuer.MaxSessionTTL (30
// days); zero, negative and absurd values are usage errors.
func TestSessionTTLBounds(t *testing.T) {
	s := mintSession(t, "--secret", testSessionSecret, "--user", "alice", "--ttl", "720h")
	a, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), func() time.Time { return time.Now().Add(719 * time.Hour) })
	require.NoError(t, err)
	_, err = a.Verify(s)
	require.NoError(t, err, "30 days is allowed")
	for _, ttl := range []string{"0s", "-1h", "500ms", "721h", "8760h", "2562047h"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"session", "--secret", testSessionSecret, "--user", "alice", "--ttl", ttl},
			strings.NewReader(""), &out, io.Discard)
		require.Equal(t, 2, exitCode(err, io.Discard), "--ttl %s: %v", ttl, err)
		require.Empty(t, out.String(), ttl)
	}
}

// The secret comes from --secret-file or $VITALSYNC_SESSION_SECRET, so it
// need not sit on the command line; --secret still works.
func TestSessionSecretSources(t *testing.T) {
	dir := t.TempDir()
	verify := func(t *testing.T, s string) {
		t.Helper()
		a, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), time.Now)
		require.NoError(t, err)
		user, err := a.Verify(s)
		require.NoError(t, err)
		require.Equal(t, "alice", user)
	}
	file := writeFile(t, dir, "secret", testSessionSecret+"\n")

	t.Setenv(envSessionSecret, "")
	verify(t, mintSession(t, "--secret-file", file, "--user", "alice"))
	t.Setenv(envSessionSecret, testSessionSecret)
	verify(t, mintSession(t, "--user", "alice"))
	t.Setenv(envSessionSecret, "an-other-secret-from-the-environment")
	verify(t, mintSession(t, "--secret-file", file, "--user", "alice")) // file wins

	t.Setenv(envSessionSecret, " \n")
	err := run(context.Background(), []string{"session", "--user", "alice"}, strings.NewReader(""), io.Discard, io.Discard)
	require.Equal(t, 2, exitCode(err, io.Discard))
	require.ErrorIs(t, err, httpops.ErrEmptySecret, "a blank variable is refused, not taken as no secret")

	for name, tc := range map[string]struct {
		args []string
		is   error
	}{
		"missing file": {[]string{"--secret-file", filepath.Join(dir, "none"), "--user", "alice"}, fs.ErrNotExist},
		"empty file":   {[]string{"--secret-file", writeFile(t, dir, "empty", "\n\n"), "--user", "alice"}, httpops.ErrEmptySecret},
		"both":         {[]string{"--secret", testSessionSecret, "--secret-file", file, "--user", "alice"}, nil},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"session"}, tc.args...), strings.NewReader(""), &out, &errOut)
		require.Equal(t, 2, exitCode(err, io.Discard), name)
		if tc.is != nil {
			require.ErrorIs(t, err, tc.is, name)
		}
		require.Empty(t, out.String(), name)
		require.NotContains(t, errOut.String(), testSessionSecret, name)
	}
}

// slowBody opens a connection to addr from local (nil: any) and starts a
// POST whose 4000-byte body then trickles in, a byte every 100ms.
func slowBody(t *testing.T, addr string, local net.Addr, path, header string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: local, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n"+header+"\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
	require.NoError(t, err)
	go func() {
		for range 3999 {
			time.Sleep(100 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return c
}

// slowHeaders opens a connection to addr that the server accepts and
// sends half a request's headers on it; a connection the server closes at
// once (its client at the cap) is tried again.
func slowHeaders(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		require.NoError(t, err)
		_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n")
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Cleanup(func() { c.Close() })
			return
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the server accepted no connection")
}

// closedWithin reports whether the server closes c (after its answer, if
// any) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

// healthy reports whether GET /healthz from local is answered (the
// emulator answers it 404, serve 200).
func healthy(t *testing.T, addr string, local net.Addr) bool {
	t.Helper()
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: local}).DialContext, DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound
}

// Slow request bodies are cut off at --read-timeout, one client address
// holds at most --max-conns-per-client connections, and other clients are
// served meanwhile: on serve (with its emulator) and on the emulator
// (issue: a body sent a byte every 5s held a connection forever, 1,500 at
// once).
func TestServersCutSlowBodiesAndCapClients(t *testing.T) {
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	// start starts the server and returns its address, a route that reads
	// its body and the header that authenticates the request.
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, args ...string) (addr, path, header string)
	}{
		{"serve", func(t *testing.T, args ...string) (string, string, string) {
			banner, _, _, _ := startServe(t, append([]string{"--addr", "127.0.0.1:0", "--db", t.TempDir() + "/issuer.db",
				"--session-secret", testSessionSecret, "--emulator"}, args...)...)
			session := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
			return strings.TrimPrefix(bannerValue(t, banner, "issuer listening on"), "http://"),
				"/v1/installation-report", "Authorization: Bearer " + session
		}},
		{"emulator", func(t *testing.T, args ...string) (string, string, string) {
			printed, _, _, _ := startEmulator(t, append([]string{"--addr", "127.0.0.1:0", "--show-key"}, args...)...)
			return strings.TrimPrefix(printed["API base URL"], "http://"), "/v2/user/", "X-Vital-API-Key: " + printed["API key"]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, path, header := tc.start(t, "--read-timeout", "2s", "--max-conns-per-client", "4")

			// A slow body is cut off at the read timeout.
			began := time.Now()
			c := slowBody(t, addr, nil, path, header)
			require.True(t, closedWithin(c, 8*time.Second), "a slow body held its connection")
			require.GreaterOrEqual(t, time.Since(began), 1900*time.Millisecond, "the body was not read")
			require.Less(t, time.Since(began), 7*time.Second)

			// Four connections sending their headers slowly fill this
			// address's cap: a fifth is closed at once, unanswered, while
			// another address is served.
			for range 4 {
				slowHeaders(t, addr)
			}
			time.Sleep(100 * time.Millisecond)
			fifth, err := net.DialTimeout("tcp", addr, 2*time.Second)
			require.NoError(t, err)
			defer fifth.Close()
			_, _ = io.WriteString(fifth, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
			_ = fifth.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			line, err := bufio.NewReader(fifth).ReadString('\n')
			require.Error(t, err, "the fifth connection was answered: %q", line)
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the fifth connection was left open")
			require.True(t, healthy(t, addr, other), "another client was not served")

			// Once the slow ones are cut, this address is served again.
			require.Eventually(t, func() bool { return healthy(t, addr, nil) }, 5*time.Second, 100*time.Millisecond)
		})
	}
}

func TestServerLimitFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"--read-timeout", "0"}, {"--write-timeout", "-1s"}, {"--idle-timeout", "0"}, {"--max-conns-per-client", "-1"},
	} {
		_, errOut, code := runCLI("", append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
		require.Contains(t, errOut, strings.TrimPrefix(args[0], "--"))
	}
}
