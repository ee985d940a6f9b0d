package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
)

// postForm posts one of the UI's forms without following the redirect.
func (h *harness) postForm(action string, v url.Values) response {
	h.t.Helper()
	c := *h.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v = cloneValues(v)
	if v.Get(emulator.FormControlToken) == "" {
		// The token the page's forms carry.
		v.Set(emulator.FormControlToken, h.em.ControlToken())
	}
	req, err := http.NewRequest("POST", h.url+"/_emulator/ui/"+action, strings.NewReader(v.Encode()))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	require.NoError(h.t, err)
	resp.Body.Close()
	return response{status: resp.StatusCode, header: resp.Header}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// The UI's forms redirect back to the page with a message, or an error
// when the emulator refuses; the page shows either, escaped.
func TestWebUIFormsWithoutABrowser(t *testing.T) {
	h, _ := newControlHarness(t)
	id := h.createUser("<b>alice</b>")
	page := h.control("GET", "/_emulator/ui", "")
	require.Equal(t, http.StatusOK, page.status)
	require.Equal(t, "text/html; charset=utf-8", page.header.Get("Content-Type"))
	require.Contains(t, string(page.body), "&lt;b&gt;alice&lt;/b&gt;", "outside values are escaped")
	require.NotContains(t, string(page.body), "<b>alice</b>")
	require.Contains(t, page.header.Get("Content-Security-Policy"), "default-src 'none'")
	// Every form carries the control token.
	forms := strings.Count(string(page.body), "<form")
	require.Positive(t, forms)
	require.Equal(t, forms, strings.Count(string(page.body),
		`<input type="hidden" name="`+emulator.FormControlToken+`" value="`+h.em.ControlToken()+`">`))

	for _, tc := range []struct {
		action string
		form   url.Values
		ok     bool
	}{
		{"fault", url.Values{"kind": {"fail"}, "route": {"token"}, "status": {"500"}, "count": {"3"}}, true},
		{"fault", url.Values{"kind": {"fail"}, "route": {"token"}, "status": {"500"}, "count": {"many"}}, false},
		{"fault", url.Values{"kind": {"fail"}, "route": {"nope"}, "status": {"500"}, "count": {"1"}}, false},
		{"advance", url.Values{"by": {"soon"}}, false},
		{"advance", url.Values{"by": {"1h"}}, true},
		{"revoke-refresh-tokens", url.Values{"user_id": {"x"}}, false},
		{"expire-access-tokens", url.Values{"user_id": {id}}, true},
		{"delete-user", url.Values{"user_id": {id}}, true},
		{"delete-user", url.Values{"user_id": {id}}, false},
		{"clear-faults", nil, true},
	} {
		r := h.postForm(tc.action, tc.form)
		require.Equal(t, http.StatusSeeOther, r.status, "%s %v", tc.action, tc.form)
		loc, err := url.Parse(r.header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "/_emulator/ui", loc.Path)
		if tc.ok {
			require.NotEmpty(t, loc.Query().Get("msg"), "%s %v", tc.action, tc.form)
			require.Empty(t, loc.Query().Get("error"), "%s %v", tc.action, tc.form)
		} else {
			require.NotEmpty(t, loc.Query().Get("error"), "%s %v", tc.action, tc.form)
		}
	}
	o := h.em.Overview()
	require.True(t, o.Users[0].Deleted)
	require.Equal(t, "1h0m0s", o.ClockOffset)
	require.Empty(t, o.Faults, "queued, then cleared")

	require.Equal(t, http.StatusNotFound, h.postForm("explode", nil).status)
	page = h.control("GET", "/_emulator/ui?error="+url.QueryEscape("<script>x</script>"), "")
	require.Contains(t, string(page.body), "&lt;script&gt;x&lt;/script&gt;")
}

// The zero value serves the control plane too, on loopback.
func TestZeroValueControlPlane(t *testing.T) {
	var em emulator.Emulator
	h := serveAt(t, &em, "127.0.0.1:8787", em.Handler())
	r := h.control("GET", "/_emulator/health", "")
	require.Equal(t, http.StatusOK, r.status)
	r = h.control("GET", "/_emulator/state", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, em.TeamID(), decode[emulator.Overview](t, r).TeamID)
}

// The page adds users, restores deleted ones within the grace period,
// queues delays, and carries the one script that refreshes it under a
// nonce the CSP names.
func TestWebUIAddUserUndoDeleteAndDelay(t *testing.T) {
	h, clock := newControlHarness(t)
	back := func(r response) (msg, errMsg string) {
		t.Helper()
		require.Equal(t, http.StatusSeeOther, r.status)
		loc, err := url.Parse(r.header.Get("Location"))
		require.NoError(t, err)
		return loc.Query().Get("msg"), loc.Query().Get("error")
	}

	// Add a user.
	msg, errMsg := back(h.postForm("create-user", url.Values{"client_user_id": {"from-the-ui"}}))
	require.Empty(t, errMsg)
	r := h.api("GET", "/v2/user/resolve/from-the-ui", "")
	require.Equal(t, http.StatusOK, r.status, "the API finds the user the form added")
	id := decode[struct {
		UserID string `json:"user_id"`
	}](t, r).UserID
	require.Contains(t, msg, id)
	_, errMsg = back(h.postForm("create-user", url.Values{"client_user_id": {"from-the-ui"}}))
	require.Contains(t, errMsg, "already has client user ID")
	_, errMsg = back(h.postForm("create-user", url.Values{"client_user_id": {""}}))
	require.NotEmpty(t, errMsg)

	// Delete, then undo: the page offers the undo while the grace period runs.
	require.NoError(t, h.em.DeleteUser(id))
	page := string(h.control("GET", "/_emulator/ui", "").body)
	require.Contains(t, page, `action="/_emulator/ui/undo-delete"`)
	msg, errMsg = back(h.postForm("undo-delete", url.Values{"user_id": {id}}))
	require.Empty(t, errMsg)
	require.Contains(t, msg, "Restored user "+id)
	require.Equal(t, http.StatusOK, h.getUser(id).status, "the API sees the user again")

	// Past the grace period there is no undo, and the control plane says why.
	require.NoError(t, h.em.DeleteUser(id))
	clock.Advance(emulator.DeletionGracePeriod + time.Second)
	page = string(h.control("GET", "/_emulator/ui", "").body)
	require.NotContains(t, page, `action="/_emulator/ui/undo-delete"`)
	_, errMsg = back(h.postForm("undo-delete", url.Values{"user_id": {id}}))
	require.Contains(t, errMsg, "grace period")
	r = h.control("POST", "/_emulator/users/"+id+"/undo-delete", "")
	require.Equal(t, http.StatusBadRequest, r.status)

	// An undo blocked by a newer user with the same client user ID.
	other := h.createUser("twin")
	require.NoError(t, h.em.DeleteUser(other))
	h.createUser("twin")
	_, errMsg = back(h.postForm("undo-delete", url.Values{"user_id": {other}}))
	require.Contains(t, errMsg, "another active user")

	// A delay fault from the form.
	_, errMsg = back(h.postForm("fault", url.Values{"kind": {"delay"}, "route": {"get-user"}, "delay": {"3s"}, "count": {"2"}, "status": {"503"}}))
	require.Empty(t, errMsg)
	o := h.em.Overview()
	require.Len(t, o.Faults, 1)
	require.Equal(t, "get-user", o.Faults[0].Name)
	require.Len(t, o.Faults[0].Delays, 1)
	require.Equal(t, 2, o.Faults[0].Delays[0].Count)
	_, errMsg = back(h.postForm("fault", url.Values{"kind": {"delay"}, "route": {"get-user"}, "delay": {"soon"}, "count": {"1"}}))
	require.Contains(t, errMsg, "delay")
	page = string(h.control("GET", "/_emulator/ui", "").body)
	require.Contains(t, page, `<option value="delay">delay</option>`)

	// The refreshing script runs by the nonce the CSP names, a new one each time.
	r = h.control("GET", "/_emulator/ui", "")
	csp := r.header.Get("Content-Security-Policy")
	_, after, ok := strings.Cut(csp, "script-src 'nonce-")
	require.True(t, ok, csp)
	n, _, _ := strings.Cut(after, "'")
	require.Len(t, n, 32)
	require.Contains(t, string(r.body), `<script nonce="`+n+`">`)
	require.NotContains(t, h.control("GET", "/_emulator/ui", "").header.Get("Content-Security-Policy"), n)
}
