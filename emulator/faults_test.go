package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

func TestFailNext(t *testing.T) {
	h := newHarness(t)
	h.em.FailNext(emulator.RouteCreateUser, 2, http.StatusServiceUnavailable)
	h.em.FailNext(emulator.RouteCreateUser, 1, http.StatusBadGateway)
	h.em.FailNext(emulator.RouteCreateUser, 0, http.StatusInternalServerError) // no-op

	for _, want := range []int{503, 503, 502} {
		r := h.api("POST", "/v2/user", `{"client_user_id":"alice"}`)
		require.Equal(t, want, r.status)
		require.Equal(t, "injected failure", detail(t, r))
	}
	require.Equal(t, 0, decode[junction.UsersPage](t, h.api("GET", "/v2/user", "")).Total, "failed requests change nothing")
	h.createUser("alice")
	require.Equal(t, 4, h.em.Requests(emulator.RouteCreateUser))
	require.Equal(t, 1, h.em.Requests(emulator.RouteListUsers))
	require.Equal(t, 5, h.em.TotalRequests())

	// Faults are per route, and come before authentication.
	h.em.FailNext(emulator.RouteGetUser, 1, http.StatusInternalServerError)
	require.Equal(t, http.StatusOK, h.api("GET", "/v2/user", "").status)
	require.Equal(t, http.StatusInternalServerError, h.request("GET", "/v2/user/x", nil).status)
	require.Equal(t, http.StatusUnauthorized, h.request("GET", "/v2/user/x", nil).status)
}

func TestFailNextOnRefreshKeepsTheToken(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	tr := tokens(t, h.exchange(h.userJWT(id)))
	h.em.FailNext(emulator.RouteToken, 1, http.StatusInternalServerError)
	require.Equal(t, http.StatusInternalServerError, h.refresh(tr.RefreshToken).status)
	tokens(t, h.refresh(tr.RefreshToken))
}

func TestRateLimitNext(t *testing.T) {
	h := newHarness(t)
	h.em.RateLimitNext(emulator.RouteListUsers, 1, 1500*time.Millisecond)
	h.em.RateLimitNext(emulator.RouteListUsers, 1, 0)
	h.em.RateLimitNext(emulator.RouteListUsers, 1, 3*time.Second)
	for _, want := range []string{"2", "0", "3"} {
		r := h.api("GET", "/v2/user", "")
		require.Equal(t, http.StatusTooManyRequests, r.status)
		require.Equal(t, want, r.header.Get("Retry-After"))
		require.NotEmpty(t, detail(t, r))
	}
	require.Equal(t, http.StatusOK, h.api("GET", "/v2/user", "").status)
}

func TestDropNext(t *testing.T) {
	// Over loopback: the emulator hijacks and closes a real connection.
	h := newLoopbackHarness(t)
	id := h.createUser("alice")
	tr := tokens(t, h.exchange(h.userJWT(id)))

	h.em.DropNext(emulator.RouteToken, 1)
	req, err := http.NewRequest("POST", h.url+"/auth/v1/token",
		strings.NewReader("grant_type=refresh_token&refresh_token="+tr.RefreshToken))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is closed without an answer")
	require.NotContains(t, err.Error(), tr.RefreshToken)

	// The dropped refresh changed nothing: the token still refreshes.
	tokens(t, h.refresh(tr.RefreshToken))
	require.Equal(t, 3, h.em.Requests(emulator.RouteToken))
}

func TestDropNextWithoutHijacker(t *testing.T) {
	em := emulatortest.NewEmulator()
	em.DropNext(emulator.RouteListUsers, 1)
	req := httptest.NewRequest("GET", "/v2/user", nil)
	req.Header.Set("X-Vital-API-Key", em.APIKey())
	defer func() {
		require.Equal(t, http.ErrAbortHandler, recover())
	}()
	em.ServeHTTP(httptest.NewRecorder(), req)
	t.Fatal("ServeHTTP returned")
}

func TestDelayNext(t *testing.T) {
	// In a bubble the delay is waited out in fake time, exactly.
	synctest.Test(t, func(t *testing.T) {
		em := emulator.New(emulator.WithAPIKey("k"))
		list := func() int {
			req := httptest.NewRequest("GET", "/v2/user", nil)
			req.Header.Set("X-Vital-API-Key", "k")
			rec := httptest.NewRecorder()
			em.ServeHTTP(rec, req)
			return rec.Code
		}
		em.DelayNext(emulator.RouteListUsers, 1, 50*time.Millisecond)
		start := time.Now()
		require.Equal(t, http.StatusOK, list())
		require.Equal(t, 50*time.Millisecond, time.Since(start))

		// A delay combines with an outcome queued for the same request.
		em.DelayNext(emulator.RouteListUsers, 1, 10*time.Millisecond)
		em.FailNext(emulator.RouteListUsers, 1, http.StatusGatewayTimeout)
		start = time.Now()
		require.Equal(t, http.StatusGatewayTimeout, list())
		require.Equal(t, 10*time.Millisecond, time.Since(start))

		// Both queues are used up: no wait, no failure.
		start = time.Now()
		require.Equal(t, http.StatusOK, list())
		require.Zero(t, time.Since(start))
	})
}

func TestDelayNextWaitsOnWithAfter(t *testing.T) {
	fire := make(chan time.Time)
	var asked []time.Duration
	var mu sync.Mutex
	em := emulatortest.NewEmulator(emulator.WithAPIKey("k"), emulator.WithAfter(func(d time.Duration) <-chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, d)
		return fire
	}))
	em.DelayNext(emulator.RouteListUsers, 1, 90*time.Minute)
	done := make(chan int, 1)
	go func() {
		req := httptest.NewRequest("GET", "/v2/user", nil)
		req.Header.Set("X-Vital-API-Key", "k")
		rec := httptest.NewRecorder()
		em.ServeHTTP(rec, req)
		done <- rec.Code
	}()
	fire <- time.Time{} // blocks until the request waits on the channel
	require.Equal(t, http.StatusOK, <-done)
	mu.Lock()
	require.Equal(t, []time.Duration{90 * time.Minute}, asked, "the wait is the injected one, for the delay")
	mu.Unlock()

	// Without a delay queued, after is not asked.
	req := httptest.NewRequest("GET", "/v2/user", nil)
	req.Header.Set("X-Vital-API-Key", "k")
	rec := httptest.NewRecorder()
	em.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	mu.Lock()
	require.Len(t, asked, 1)
	mu.Unlock()
}

func TestDelayNextRespectsTheRequestContext(t *testing.T) {
	em := emulatortest.NewEmulator()
	em.DelayNext(emulator.RouteCreateUser, 1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/v2/user", strings.NewReader(`{"client_user_id":"a"}`))
	req.Header.Set("X-Vital-API-Key", em.APIKey())
	rec := httptest.NewRecorder()
	em.ServeHTTP(rec, req) // returns at once: the hour is not waited out
	require.False(t, rec.Flushed)
	require.Empty(t, rec.Body.String(), "an abandoned request gets no answer")

	// Nothing was created: the same client_user_id is still free.
	req = httptest.NewRequest("POST", "/v2/user", strings.NewReader(`{"client_user_id":"a"}`))
	req.Header.Set("X-Vital-API-Key", em.APIKey())
	rec = httptest.NewRecorder()
	em.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, 2, em.Requests(emulator.RouteCreateUser))
}

// A delayed POST whose client hangs up is abandoned at once: the handler
// reads the body before waiting, so net/http can notice the hang-up. Before,
// it waited out the whole delay and the server could not shut down.
func TestDelayedPostAbandonedWhenClientLeaves(t *testing.T) {
	em := emulatortest.NewEmulator()
	entered := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	em.DelayNext(emulator.RouteToken, 1, 20*time.Second) // bounded, so a regression fails instead of hanging
	ctx, cancel := context.WithCancel(context.Background())
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sent := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		sent <- err
	}()
	// Cancel once the request has reached the emulator; then the server
	// must close long before the delay ends.
	select {
	case <-entered:
	case err := <-sent:
		t.Fatalf("request finished early: %v", err)
	}
	cancel()
	require.True(t, errors.Is(<-sent, context.Canceled))
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server is still waiting out the delay of an abandoned request")
	}
}

func TestDelayNextClientTimeout(t *testing.T) {
	// Over loopback: the server notices the client hanging up.
	h := newLoopbackHarness(t)
	h.em.DelayNext(emulator.RouteGetUser, 1, time.Hour)
	client := &http.Client{Timeout: 20 * time.Millisecond}
	req, err := http.NewRequest("GET", h.url+"/v2/user/00000000-0000-4000-8000-000000000000", nil)
	require.NoError(t, err)
	_, err = client.Do(req)
	var te interface{ Timeout() bool }
	require.True(t, errors.As(err, &te) && te.Timeout(), "err = %v", err)
	// httptest.Server.Close waits for the handler, which returns because
	// the connection's context ends.
}

func TestClearFaults(t *testing.T) {
	h := newHarness(t)
	h.em.FailNext(emulator.RouteListUsers, 5, http.StatusInternalServerError)
	h.em.DelayNext(emulator.RouteListUsers, 5, time.Hour)
	h.em.ClearFaults()
	require.Equal(t, http.StatusOK, h.api("GET", "/v2/user", "").status)
}

func TestKnobsPanicOnMisuse(t *testing.T) {
	em := &emulator.Emulator{}
	for name, f := range map[string]func(){
		"unknown route":        func() { em.FailNext("GET /v3/user", 1, 500) },
		"negative count":       func() { em.FailNext(emulator.RouteGetUser, -1, 500) },
		"success status":       func() { em.FailNext(emulator.RouteGetUser, 1, 200) },
		"status beyond 599":    func() { em.FailNext(emulator.RouteGetUser, 1, 600) },
		"drop unknown route":   func() { em.DropNext("nope", 1) },
		"negative retry-after": func() { em.RateLimitNext(emulator.RouteGetUser, 1, -time.Second) },
		"negative delay":       func() { em.DelayNext(emulator.RouteGetUser, 1, -time.Second) },
		"delay negative count": func() { em.DelayNext(emulator.RouteGetUser, -2, time.Second) },
		"count unknown route":  func() { em.Requests("GET /") },
	} {
		require.Panics(t, f, name)
	}
}
