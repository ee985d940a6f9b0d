package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/vitalsync/vitalsync/httpops"
	"io"
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

	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/issuer"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// jsonLines decodes every line of a JSON log.
func jsonLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
		out = append(out, m)
	}
	return out
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
