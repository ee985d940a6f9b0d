package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

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
