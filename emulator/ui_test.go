package emulator_test

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// updateScreenshot rewrites the emulator guide's screenshot of the web UI.
var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite testdata/emulator-ui.png from the browser test")

// screenshotPath is the screenshot the emulator guide shows.
const screenshotPath = "testdata/emulator-ui.png"

// findChromium returns the path of a Chromium or Chrome binary on PATH.
// Without one the test skips, naming the package to install, except under
// CI (the CI variable set), where it fails.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium, chromium-browser or google-chrome on PATH: install Debian's chromium package (apt-get install chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// chromium starts a headless Chromium with a 1280 x 900 window for the
// test (or skips it, see findChromium) and returns its context, which
// ends after timeout.
func chromium(t *testing.T, timeout time.Duration) context.Context {
	path := findChromium(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// pageText is the trimmed text of the element sel selects.
func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, "text of %s", sel)
	return strings.TrimSpace(s)
}

// The web UI, driven in headless Chromium as a person would: see a user
// created through the API, delete it with the form, queue a failure with
// the fault form, and find both effects through the API.
func TestWebUIInABrowser(t *testing.T) {
	clock := emulatortest.NewClock(time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC))
	em := emulatortest.NewEmulator(emulator.WithClock(clock.Now), emulator.WithTeamID("6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b1a73"))
	h := serveLoopback(t, em, em.Handler())
	alice := h.createUser("alice@example.com")
	bob := h.createUser("bob")
	h.createUser("carol")
	st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+bob+"/sign_in_token", ""))
	var secrets emulatortest.Secrets
	secrets.Add(em.APIKey(), st.SignInToken)

	ctx := chromium(t, 30*time.Second)

	row := `tr[data-user-id="` + alice + `"]`
	text := func(sel string) string { return pageText(t, ctx, sel) }
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	))
	require.Equal(t, "alice@example.com", text(row+" .client-user-id"))

	// Delete alice with her row's form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+` button[name="delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.msg`)),
	))
	require.Equal(t, "Deleted user "+alice+".", text(`.msg`))
	status := text(row + " td:nth-child(4)")
	require.True(t, strings.HasPrefix(status, "deleted "), "status %q", status)
	require.Equal(t, http.StatusNotFound, h.getUser(alice).status, "the API says the user is gone")

	// Queue two failures of create-user with the fault form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#fault-form select[name="route"]`), "create-user"),
		chromedp.SetValue(chromedp.CSS(`#fault-form input[name="count"]`), "2"),
		chromedp.Submit(chromedp.CSS(`#fault-form`)),
		chromedp.WaitVisible(chromedp.CSS(`#faults table`)),
	))
	require.Equal(t, "Queued fail for the next 2 request(s) of create-user.", text(`.msg`))
	for range 2 {
		require.Equal(t, http.StatusServiceUnavailable, h.api("POST", "/v2/user", `{"client_user_id":"dave"}`).status)
	}
	h.createUser("dave")

	// Reload to show the latest requests, then look at the page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(`#requests table`)),
	))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
	require.NoError(t, err)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	secrets.Check(t, "the page", html)
	require.Contains(t, html, "503")
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	require.GreaterOrEqual(t, img.Bounds().Dx(), 1000, "rendered at laptop width")
	require.Greater(t, img.Bounds().Dy(), 400)
	path := filepath.Join(t.TempDir(), "emulator-ui.png")
	if *updateScreenshot {
		path = screenshotPath
	}
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)
}

// The page's own features in Chromium at 1280 px: it fits without a
// horizontal scroll bar with long IDs and paths, adds a user, offers and
// performs an undo of a deletion it learns of by refreshing itself, and
// queues a delay.
func TestWebUIAddUndoDelayRefreshAt1280(t *testing.T) {
	em := emulatortest.NewEmulator()
	h := serveLoopback(t, em, em.Handler())
	long := strings.Repeat("a-very-long-client-user-id-", 6)
	victim := h.createUser(long + "1")
	for i := range 4 {
		h.createUser(long + string(rune('2'+i)))
		h.api("GET", "/v2/user/resolve/"+long+"missing", "")
	}
	st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+victim+"/sign_in_token", ""))
	var secrets emulatortest.Secrets
	secrets.Add(em.APIKey(), st.SignInToken)

	ctx := chromium(t, 45*time.Second)
	text := func(sel string) string { return pageText(t, ctx, sel) }
	// waitText waits until sel's text holds want (a page loaded after a
	// form leaves the last page's message visible until it replaces it).
	waitText := func(sel, want string) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+quote(sel)+`) || {}).innerText || ""`))
			require.NoError(t, err)
			if got = strings.TrimSpace(s); strings.Contains(got, want) {
				return got
			}
		}
		t.Fatalf("%s says %q, not %q", sel, got, want)
		return ""
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/_emulator/ui"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user-id="`+victim+`"]`)),
	))

	// Fits 1280 px: no horizontal scrolling.
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	require.NoError(t, err)
	require.LessOrEqual(t, widths[0], widths[1], "page %d px wide in a %d px window", widths[0], widths[1])
	require.LessOrEqual(t, widths[1], 1280)

	// Add a user with the form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#add-user-form input[name="client_user_id"]`), "added-in-the-browser"),
		chromedp.Submit(chromedp.CSS(`#add-user-form`)),
		chromedp.WaitVisible(chromedp.CSS(`.msg`)),
	))
	require.Contains(t, text(`.msg`), "(added-in-the-browser)")
	require.Equal(t, http.StatusOK, h.api("GET", "/v2/user/resolve/added-in-the-browser", "").status)

	// A deletion through the API shows up without a reload (the page
	// refreshes itself), with an undo button that restores the user.
	require.Equal(t, http.StatusOK, h.api("DELETE", "/v2/user/"+victim, "").status)
	undo := `tr[data-user-id="` + victim + `"] button[name="undo-delete"]`
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(undo))))
	refreshes, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.refreshes || "0"`))
	require.NoError(t, err)
	require.NotEqual(t, "0", refreshes, "seen by a refresh, not a reload")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(undo))))
	require.Equal(t, "Restored user "+victim+" (their tokens stay revoked).", waitText(`.msg`, "Restored"))
	require.Equal(t, http.StatusOK, h.getUser(victim).status, "the API sees the user again")

	// Queue a delay with the fault form.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#fault-form select[name="kind"]`), "delay"),
		chromedp.SetValue(chromedp.CSS(`#fault-form select[name="route"]`), "get-user"),
		chromedp.SetValue(chromedp.CSS(`#fault-form input[name="delay"]`), "1500ms"),
		chromedp.Submit(chromedp.CSS(`#fault-form`)),
	))
	require.Equal(t, "Queued delay for the next 1 request(s) of get-user.", waitText(`.msg`, "Queued delay"))
	require.Contains(t, text(`#faults table`), "1× 1.5s")
	start := time.Now()
	require.Equal(t, http.StatusOK, h.getUser(victim).status)
	require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "the request waited")

	// Still fits, with everything on the page; no secret on it.
	widths, err = chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	require.NoError(t, err)
	require.LessOrEqual(t, widths[0], widths[1])
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
	require.NoError(t, err)
	secrets.Check(t, "the page", html)
}

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
