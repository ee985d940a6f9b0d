package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// newControlHarness serves, in process, an emulator with its control plane
// mounted ([emulator.Emulator.Handler]), on a virtual clock.
func newControlHarness(t *testing.T, opts ...emulator.Option) (*harness, *emulatortest.Clock) {
	t.Helper()
	clock := emulatortest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	em := emulatortest.NewEmulator(append([]emulator.Option{emulator.WithClock(clock.Now), emulator.WithAfter(clock.After),
		emulator.WithControlHosts("emulator.test")}, opts...)...)
	return serveAt(t, em, "emulator.test", em.Handler()), clock
}

// control sends a JSON request to the control plane.
func (h *harness) control(method, path, body string) response {
	h.t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	return h.request(method, path, r, "Content-Type", "application/json", emulator.HeaderControlToken, h.em.ControlToken())
}

func TestControlHealthAndState(t *testing.T) {
	h, _ := newControlHarness(t)
	r := h.control("GET", "/_emulator/health", "")
	require.Equal(t, http.StatusOK, r.status)
	health := decode[struct {
		Status string    `json:"status"`
		Time   time.Time `json:"time"`
	}](t, r)
	require.Equal(t, "ok", health.Status)
	require.Equal(t, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), health.Time)

	alice := h.createUser("alice")
	bob := h.createUser("bob")
	require.Equal(t, http.StatusOK, h.api("POST", "/v2/user/"+alice+"/sign_in_token", "").status)
	require.Equal(t, http.StatusOK, h.api("DELETE", "/v2/user/"+bob, "").status)

	o := decode[emulator.Overview](t, h.control("GET", "/_emulator/state", ""))
	require.Equal(t, h.em.TeamID(), o.TeamID)
	require.Len(t, o.Users, 2)
	require.Equal(t, "alice", o.Users[0].ClientUserID)
	require.False(t, o.Users[0].Deleted)
	require.Equal(t, bob, o.Users[1].UserID)
	require.True(t, o.Users[1].Deleted, "deleted users are listed, marked")
	require.Len(t, o.SignInTokens, 1)
	require.Equal(t, alice, o.SignInTokens[0].UserID)
	require.Equal(t, o.SignInTokens[0].IssuedAt.Add(emulator.DefaultTokenTTL), o.SignInTokens[0].ExpiresAt)
	require.Equal(t, 2, o.RequestCounts["create-user"])
	require.Equal(t, 4, o.TotalRequests)
	require.Len(t, o.Requests, 4)
	require.Equal(t, "DELETE", o.Requests[0].Method, "newest first")
	require.Equal(t, "delete-user", o.Requests[0].Route)
	require.Equal(t, http.StatusOK, o.Requests[0].Status)
}

func TestControlStateHoldsNoSecret(t *testing.T) {
	h, _ := newControlHarness(t)
	var secrets emulatortest.Secrets
	secrets.Add(h.em.APIKey())
	id := h.createUser("alice")
	st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+id+"/sign_in_token", ""))
	secrets.Add(st.SignInToken)
	tok := decode[junction.TokenResponse](t, h.form("/v1/token", url.Values{
		"grant_type": {junction.GrantTokenExchange}, "subject_token_type": {junction.SubjectTokenTypeSignIn},
		"subject_token": {signInJWT(t, st.SignInToken)}}))
	secrets.Add(tok.AccessToken, tok.RefreshToken)
	for _, path := range []string{"/_emulator/state", "/_emulator/ui"} {
		r := h.control("GET", path, "")
		require.Equal(t, http.StatusOK, r.status, path)
		secrets.Check(t, path, string(r.body))
	}
	o := decode[emulator.Overview](t, h.control("GET", "/_emulator/state", ""))
	require.Equal(t, emulator.TokenCounts{Valid: 1}, o.Users[0].AccessTokens)
	require.Equal(t, map[string]int{"active": 1}, o.Users[0].RefreshSessions)
}

// signInJWT returns the JWT inside a Sign-In Token's envelope.
func signInJWT(t *testing.T, signInToken string) string {
	t.Helper()
	tok, err := junction.DecodeSignInToken(signInToken, junction.DecodeOptions{})
	require.NoError(t, err)
	return tok.UserToken
}

func TestControlFaults(t *testing.T) {
	h, clock := newControlHarness(t)
	r := h.control("POST", "/_emulator/faults/fail", `{"route":"create-user","status":503,"count":2}`)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	f := decode[emulator.FaultOverview](t, r)
	require.Equal(t, string(emulator.RouteCreateUser), f.Route)
	require.Equal(t, []emulator.OutcomeQueued{{Kind: "fail", Status: 503, Count: 2}}, f.Outcomes)

	for range 2 {
		require.Equal(t, http.StatusServiceUnavailable, h.api("POST", "/v2/user", `{"client_user_id":"a"}`).status)
	}
	h.createUser("a")

	// The "METHOD /pattern" form names a route too; the count defaults to 1.
	r = h.control("POST", "/_emulator/faults/rate-limit", `{"route":"POST /v1/token","retry_after":"30s"}`)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	r = h.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, "30", r.header.Get("Retry-After"))

	require.Equal(t, http.StatusOK, h.control("POST", "/_emulator/faults/drop", `{"route":"list-users","count":1}`).status)
	require.Equal(t, http.StatusOK, h.control("POST", "/_emulator/faults/delay", `{"route":"get-user","delay":"2s","count":3}`).status)
	o := decode[emulator.Overview](t, h.control("GET", "/_emulator/state", ""))
	require.Len(t, o.Faults, 2)
	require.Equal(t, "list-users", o.Faults[0].Name)
	require.Equal(t, []emulator.OutcomeQueued{{Kind: "drop", Count: 1}}, o.Faults[0].Outcomes)
	require.Equal(t, []emulator.DelayOverview{{Delay: "2s", Count: 3}}, o.Faults[1].Delays)

	// A delay waits on the emulator's clock.
	id := h.createUser("b")
	var wg sync.WaitGroup
	var got response
	wg.Go(func() { got = h.api("GET", "/v2/user/"+id, "") })
	for clock.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(2 * time.Second)
	wg.Wait()
	require.Equal(t, http.StatusOK, got.status)

	r = h.control("DELETE", "/_emulator/faults", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Empty(t, decode[emulator.Overview](t, h.control("GET", "/_emulator/state", "")).Faults)
}

func TestControlRejectsBadRequests(t *testing.T) {
	h, _ := newControlHarness(t)
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/_emulator/faults/fail", `{"route":"nope","status":503}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `{"route":"create-user","status":200}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `{"route":"create-user","status":503,"count":0}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `{"route":"create-user","status":503,"count":-1}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `{"route":"create-user","status":503,"count":10001}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `{"route":"create-user","status":503,"extra":1}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `{"route":"create-user","status":503} {}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/fail", `[`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/delay", `{"route":"create-user"}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/delay", `{"route":"create-user","delay":"soon"}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/delay", `{"route":"create-user","delay":"11m"}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/rate-limit", `{"route":"create-user","retry_after":"-1s"}`, http.StatusBadRequest},
		{"POST", "/_emulator/faults/explode", `{"route":"create-user"}`, http.StatusNotFound},
		{"POST", "/_emulator/clock/advance", `{"by":"0s"}`, http.StatusBadRequest},
		{"POST", "/_emulator/clock/advance", `{"by":"-1h"}`, http.StatusBadRequest},
		{"POST", "/_emulator/clock/advance", `{}`, http.StatusBadRequest},
		{"POST", "/_emulator/clock/advance", `{"by":"87601h"}`, http.StatusBadRequest},
		{"POST", "/_emulator/users/not-a-uuid/revoke-refresh-tokens", ``, http.StatusBadRequest},
		{"POST", "/_emulator/users/00000000-0000-4000-8000-000000000000/revoke-refresh-tokens", ``, http.StatusNotFound},
		{"POST", "/_emulator/users/00000000-0000-4000-8000-000000000000/expire-access-tokens", ``, http.StatusNotFound},
		{"POST", "/_emulator/users/00000000-0000-4000-8000-000000000000/explode", ``, http.StatusNotFound},
		{"DELETE", "/_emulator/users/00000000-0000-4000-8000-000000000000", ``, http.StatusNotFound},
		{"GET", "/_emulator/nothing", ``, http.StatusNotFound},
		{"POST", "/_emulator/health", ``, http.StatusMethodNotAllowed},
		{"GET", "/_emulator/reset", ``, http.StatusMethodNotAllowed},
	} {
		r := h.control(tc.method, tc.path, tc.body)
		require.Equal(t, tc.status, r.status, "%s %s %s: %s", tc.method, tc.path, tc.body, r.body)
		require.NotEmpty(t, detail(t, r), "%s %s", tc.method, tc.path)
	}
	o := h.em.Overview()
	require.Empty(t, o.Faults, "a refused request queues nothing")
	require.Equal(t, "0s", o.ClockOffset)
}

func TestControlRefusesCrossSiteChanges(t *testing.T) {
	h, _ := newControlHarness(t)
	id := h.createUser("alice")
	r := h.request("POST", "/_emulator/ui/delete-user", strings.NewReader("user_id="+id),
		"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, r.status)
	r = h.request("POST", "/_emulator/reset", nil, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, http.StatusOK, h.getUser(id).status, "nothing changed")
}

func TestControlUsersAndClock(t *testing.T) {
	h, _ := newControlHarness(t)
	id := h.createUser("alice")
	st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+id+"/sign_in_token", ""))
	exchange := url.Values{"grant_type": {junction.GrantTokenExchange}, "subject_token_type": {junction.SubjectTokenTypeSignIn},
		"subject_token": {signInJWT(t, st.SignInToken)}}
	tok := decode[junction.TokenResponse](t, h.form("/v1/token", exchange))
	bearer := func() int {
		return h.request("GET", "/v2/user/"+id, nil, "Authorization", "Bearer "+tok.AccessToken).status
	}
	require.Equal(t, http.StatusOK, bearer())

	// Expire the access tokens: the Bearer request fails, a refresh works.
	r := h.control("POST", "/_emulator/users/"+strings.ToUpper(id)+"/expire-access-tokens", "")
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	require.Equal(t, emulator.TokenCounts{Expired: 1}, decode[emulator.UserOverview](t, r).AccessTokens)
	require.Equal(t, http.StatusUnauthorized, bearer())
	refreshed := decode[junction.TokenResponse](t, h.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}))

	// Revoke the refresh tokens: the next refresh needs reauthentication.
	r = h.control("POST", "/_emulator/users/"+id+"/revoke-refresh-tokens", "")
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	require.Equal(t, 1, decode[emulator.UserOverview](t, r).RefreshSessions["revoked"])
	r = h.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed.RefreshToken}})
	require.Equal(t, junction.ErrorTypeReauthRequired, errorType(t, r))

	// Advance the clock past the Sign-In Token's expiry: it no longer
	// exchanges.
	r = h.control("POST", "/_emulator/clock/advance", `{"by":"61m"}`)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	require.Equal(t, "1h1m0s", decode[struct {
		ClockOffset string `json:"clock_offset"`
	}](t, r).ClockOffset)
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, h.form("/v1/token", exchange)))

	// Delete through the control plane: the API says the user is gone.
	require.Equal(t, http.StatusOK, h.control("DELETE", "/_emulator/users/"+id, "").status)
	require.Equal(t, http.StatusNotFound, h.getUser(id).status)

	// Reset forgets everything but the team, the advanced clock too.
	key := h.em.APIKey()
	before := h.em.Now()
	r = h.control("POST", "/_emulator/reset", "")
	require.Equal(t, http.StatusOK, r.status)
	o := decode[emulator.Overview](t, r)
	require.Zero(t, h.em.ClockOffset(), "reset undoes the advance")
	require.Equal(t, "0s", o.ClockOffset)
	require.True(t, h.em.Now().Before(before.Add(-time.Hour)), "the clock is back to where it started, not 61m on: %v vs %v", h.em.Now(), before)
	require.Empty(t, o.Users)
	require.Empty(t, o.SignInTokens)
	require.Zero(t, o.TotalRequests)
	require.Equal(t, key, h.em.APIKey())
	require.Equal(t, http.StatusNotFound, h.api("GET", "/v2/user/resolve/alice", "").status)
}

func TestNotEmulatedPathsSaySo(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/v2/summary/sleep/00000000-0000-4000-8000-000000000000", "/v2/timeseries/x/steps",
		"/v2/providers", "/v2/link/token", "/v1/accounts:signInWithCustomToken",
		"/securetoken.googleapis.com/v1/other", "/identitytoolkit.googleapis.com/v1/accounts:lookup"} {
		r := h.api("GET", p, "")
		require.Equal(t, http.StatusNotImplemented, r.status, p)
		d := detail(t, r)
		require.True(t, strings.HasPrefix(d, "not emulated: GET "+p+" "), "%s: %q", p, d)
	}
	require.Equal(t, "Not Found", detail(t, h.api("GET", "/v2/users", "")), "an unknown path is not called a Vital path")
	recent := h.em.RecentRequests()
	require.Equal(t, emulator.RouteNameNotEmulated, recent[0].Route)
	require.Equal(t, emulator.RouteNameUnknown, recent[len(recent)-1].Route)
}

func TestObserverSeesEveryRequestWithoutSecrets(t *testing.T) {
	var mu sync.Mutex
	var seen []emulator.RequestRecord
	h, clock := newControlHarness(t, emulator.WithObserver(func(r emulator.RequestRecord) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
	}))
	h.em.DelayNext(emulator.RouteCreateUser, 1, 250*time.Millisecond)
	var wg sync.WaitGroup
	wg.Go(func() { h.createUser("alice") })
	for clock.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(250 * time.Millisecond)
	wg.Wait()
	h.control("GET", "/_emulator/health", "")
	h.em.DropNext(emulator.RouteListUsers, 1)
	req, err := http.NewRequest("GET", h.url+"/v2/user?offset=0", nil)
	require.NoError(t, err)
	_, err = h.client.Do(req)
	require.Error(t, err, "dropped")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 3)
	require.Equal(t, emulator.RequestRecord{Time: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Method: "POST", Path: "/v2/user",
		Route: "create-user", Status: 200, Latency: 250 * time.Millisecond}, seen[0])
	require.Equal(t, "control-health", seen[1].Route)
	require.Equal(t, "/v2/user", seen[2].Path, "no query")
	require.Equal(t, 0, seen[2].Status, "dropped")
	require.Len(t, h.em.RecentRequests(), 2, "the control plane is not in the recent list")
}

func TestRouteNamesRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range emulator.Routes() {
		name := r.Name()
		require.False(t, seen[name], "duplicate name %s", name)
		seen[name] = true
		got, ok := emulator.ParseRoute(name)
		require.True(t, ok, name)
		require.Equal(t, r, got)
		got, ok = emulator.ParseRoute(string(r))
		require.True(t, ok, string(r))
		require.Equal(t, r, got)
	}
	_, ok := emulator.ParseRoute("POST /v2/users")
	require.False(t, ok)
	require.Equal(t, emulator.RouteNameUnknown, emulator.Route("GET /nope").Name())
}

// Every request issue 19 drove the control plane with from a web page is
// refused: a foreign Origin without Sec-Fetch-Site, Origin: null,
// same-site (another localhost port), cross-site, a DNS-rebinding Host,
// and a change without the token or with a wrong one; on faults/fail,
// ui/reset, reset and state. Nothing changes; the owner's requests pass.
func TestControlPlaneRefusesWebPages(t *testing.T) {
	em := emulatortest.NewEmulator()
	h := em.Handler()
	tr := emulatortest.NewTransport(map[string]http.Handler{"127.0.0.1:8787": h, "evil.example:8787": h, "localhost:8787": h})
	client := tr.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	token := em.ControlToken()
	require.Len(t, token, 64)

	type req struct {
		method, path, body, ctype string
	}
	fault := req{"POST", "/_emulator/faults/fail", `{"route":"token","status":500}`, "application/json"}
	uiReset := req{"POST", "/_emulator/ui/reset", "", "application/x-www-form-urlencoded"}
	reset := req{"POST", "/_emulator/reset", "", "application/json"}
	state := req{"GET", "/_emulator/state", "", ""}
	ui := req{"GET", "/_emulator/ui", "", ""}
	send := func(host string, rq req, withToken bool, headers ...string) int {
		t.Helper()
		body := rq.body
		if withToken && rq.ctype == "application/x-www-form-urlencoded" {
			body = url.Values{emulator.FormControlToken: {token}}.Encode()
		}
		r, err := http.NewRequest(rq.method, "http://"+host+rq.path, strings.NewReader(body))
		require.NoError(t, err)
		if rq.ctype != "" {
			r.Header.Set("Content-Type", rq.ctype)
		}
		if withToken && rq.ctype == "application/json" {
			r.Header.Set(emulator.HeaderControlToken, token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	_, err := em.CreateUser("alice")
	require.NoError(t, err)
	unchanged := func() {
		t.Helper()
		o := em.Overview()
		require.Len(t, o.Users, 1, "reset went through")
		require.Empty(t, o.Faults, "a fault was queued")
	}

	for name, tc := range map[string]struct {
		host    string
		token   bool
		headers []string
	}{
		"foreign origin":     {"127.0.0.1:8787", true, []string{"Origin", "http://evil.example"}},
		"null origin":        {"127.0.0.1:8787", true, []string{"Origin", "null"}},
		"another port":       {"127.0.0.1:8787", true, []string{"Origin", "http://127.0.0.1:3000"}},
		"same-site":          {"127.0.0.1:8787", true, []string{"Sec-Fetch-Site", "same-site"}},
		"cross-site":         {"127.0.0.1:8787", true, []string{"Sec-Fetch-Site", "cross-site"}},
		"dns rebinding":      {"evil.example:8787", true, []string{"Origin", "http://evil.example:8787"}},
		"rebinding, no orig": {"evil.example:8787", true, nil},
		"no token":           {"127.0.0.1:8787", false, nil},
		"no token, same origin": {"127.0.0.1:8787", false, []string{"Origin", "http://127.0.0.1:8787",
			"Sec-Fetch-Site", "same-origin"}},
		"wrong token": {"127.0.0.1:8787", false, []string{emulator.HeaderControlToken, strings.Repeat("0", 64)}},
	} {
		for _, rq := range []req{fault, uiReset, reset} {
			require.Equal(t, http.StatusForbidden, send(tc.host, rq, tc.token, tc.headers...), "%s: %s %s", name, rq.method, rq.path)
			unchanged()
		}
	}
	// A rebinding page cannot even read the state or the page (which
	// holds the token).
	require.Equal(t, http.StatusForbidden, send("evil.example:8787", state, false))
	require.Equal(t, http.StatusForbidden, send("evil.example:8787", ui, false))
	// A token in a JSON route's form field does not count.
	require.Equal(t, http.StatusForbidden, send("127.0.0.1:8787",
		req{"POST", "/_emulator/reset", url.Values{emulator.FormControlToken: {token}}.Encode(), "application/x-www-form-urlencoded"}, false))
	unchanged()

	// The owner: reads without the token, changes with it, from the
	// page's own origin or from a tool that sends none.
	require.Equal(t, http.StatusOK, send("127.0.0.1:8787", state, false))
	require.Equal(t, http.StatusOK, send("localhost:8787", ui, false))
	require.Equal(t, http.StatusOK, send("127.0.0.1:8787", fault, true, "Origin", "http://127.0.0.1:8787", "Sec-Fetch-Site", "same-origin"))
	require.Len(t, em.Overview().Faults, 1)
	require.Equal(t, http.StatusSeeOther, send("localhost:8787", uiReset, true, "Origin", "http://localhost:8787"))
	require.Empty(t, em.Overview().Users)
	require.Equal(t, http.StatusOK, send("127.0.0.1:8787", reset, true))
}

// WithControlHosts replaces loopback with the hosts given: host:port
// exactly, a bare host on any port.
func TestControlHosts(t *testing.T) {
	em := emulatortest.NewEmulator(emulator.WithControlHosts("192.0.2.7:8787", "dev.internal"))
	h := em.Handler()
	tr := emulatortest.NewTransport(map[string]http.Handler{"192.0.2.7:8787": h, "192.0.2.7:9999": h,
		"dev.internal:1234": h, "127.0.0.1:8787": h})
	for host, want := range map[string]int{"192.0.2.7:8787": 200, "192.0.2.7:9999": 403, "dev.internal:1234": 200, "127.0.0.1:8787": 403} {
		resp, err := tr.Client().Get("http://" + host + "/_emulator/state")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, host)
	}
}
