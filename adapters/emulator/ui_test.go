package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/emulator/emulatortest"
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
	tr := emulatortest.NewTransport(map[string]http.Handler{"127.0.0.1:8787": em.Handler()})
	h := &harness{t: t, em: &em, url: "http://127.0.0.1:8787", client: tr.Client()}
	r := h.control("GET", "/_emulator/health", "")
	require.Equal(t, http.StatusOK, r.status)
	r = h.control("GET", "/_emulator/state", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, em.TeamID(), decode[emulator.Overview](t, r).TeamID)
}
