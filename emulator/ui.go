package emulator

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

//go:embed ui/*.tmpl
var uiFiles embed.FS

// uiTemplate is the web UI's page.
var uiTemplate = template.Must(template.New("index.html.tmpl").Funcs(template.FuncMap{
	"ts": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"tsp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ms":  func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"has": func(list []string, s string) bool { return slices.Contains(list, s) },
	"statusClass": func(s int) string {
		switch {
		case s == 0:
			return "dropped"
		case s >= 500:
			return "s5"
		case s >= 400:
			return "s4"
		}
		return "s2"
	},
}).ParseFS(uiFiles, "ui/index.html.tmpl"))

// uiPage is what the page template renders.
type uiPage struct {
	Overview
	Routes  []Route
	Message string
	Error   string
	// ControlToken goes into every form: the control plane refuses a
	// change without it.
	ControlToken string
	// Nonce lets the page's one script run under the CSP.
	Nonce string
	// RefreshMS is how often the page refreshes its state;
	// RefreshSeconds the same for people.
	RefreshMS      int
	RefreshSeconds int
	// Restorable are the deleted users still within the grace period.
	Restorable []string
}

// uiRefreshMS is how often the page fetches itself to show the latest
// state (users, faults, tokens, requests); it skips a turn while a form
// field has the focus, so typing is never lost.
const uiRefreshMS = 2000

// nonce returns 16 random bytes for the page's CSP nonce.
func nonce() []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("emulator: read randomness: " + err.Error())
	}
	return b
}

// serveUI renders the web UI: the state and forms for the control plane.
// It needs no JavaScript.
func (e *Emulator) serveUI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := uiPage{Overview: e.Overview(), Routes: Routes(), Message: q.Get("msg"), Error: q.Get("error"),
		ControlToken: e.ControlToken(), Nonce: hex.EncodeToString(nonce()), RefreshMS: uiRefreshMS, RefreshSeconds: uiRefreshMS / 1000}
	now := e.Now()
	for _, u := range page.Users {
		if u.DeletedAt != nil && now.Before(u.DeletedAt.Add(DeletionGracePeriod)) {
			page.Restorable = append(page.Restorable, u.UserID)
		}
	}
	var buf bytes.Buffer
	if err := uiTemplate.Execute(&buf, page); err != nil {
		writeDetail(w, http.StatusInternalServerError, "cannot render the page")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The one script (refreshing the page's state) runs by its nonce; it
	// fetches this page again, so connect-src 'self'.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+page.Nonce+"'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// serveUIAction applies one of the page's forms and sends the browser back
// to the page with a message (303 See Other, so a reload does not repeat
// it).
func (e *Emulator) serveUIAction(w http.ResponseWriter, r *http.Request, action string) {
	if r.PostForm == nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	if err := r.ParseForm(); err != nil {
		e.uiBack(w, r, "", "the form does not parse")
		return
	}
	f := r.PostForm
	id := f.Get("user_id")
	var (
		msg string
		err error
	)
	switch action {
	case "create-user":
		cuid := f.Get("client_user_id")
		var created string
		created, err = e.CreateUser(cuid)
		switch {
		case errors.Is(err, ErrInvalidClientUserID):
			err = badRequest("a client user ID has 1 to %d characters", MaxClientUserIDLen)
		case errors.Is(err, ErrClientUserIDTaken):
			err = badRequest("an active user already has client user ID %s", strconvQuote(cuid))
		}
		msg = "Created user " + created + " (" + cuid + ")."
	case "undo-delete":
		_, err = e.controlUser(action, url.PathEscape(id))
		msg = "Restored user " + id + " (their tokens stay revoked)."
	case "delete-user":
		_, err = e.controlUser("delete", url.PathEscape(id))
		msg = "Deleted user " + id + "."
	case "revoke-refresh-tokens":
		_, err = e.controlUser(action, url.PathEscape(id))
		msg = "Revoked the refresh tokens of user " + id + ": their next refresh needs reauthentication."
	case "expire-access-tokens":
		_, err = e.controlUser(action, url.PathEscape(id))
		msg = "Expired the access tokens of user " + id + "."
	case "fault":
		count, cerr := strconv.Atoi(f.Get("count"))
		if cerr != nil {
			err = badRequest("count %s is not a number", strconvQuote(f.Get("count")))
			break
		}
		status, _ := strconv.Atoi(f.Get("status"))
		kind := f.Get("kind")
		_, err = e.queueControlFault(kind, faultRequest{Route: f.Get("route"), Count: &count, Status: status,
			Delay: f.Get("delay"), RetryAfter: f.Get("retry_after")})
		msg = "Queued " + kind + " for the next " + strconv.Itoa(count) + " request(s) of " + f.Get("route") + "."
	case "clear-faults":
		e.ClearFaults()
		msg = "Cleared every queued fault."
	case "advance":
		_, err = e.controlAdvance(f.Get("by"))
		msg = "Advanced the clock by " + f.Get("by") + "."
	case "reset":
		e.Reset()
		msg = "Reset: every user, token and fault is gone."
	default:
		writeDetail(w, http.StatusNotFound, "no such form: "+strconvQuote(action))
		return
	}
	var ce *controlError
	if errors.As(err, &ce) {
		e.uiBack(w, r, "", ce.msg)
		return
	}
	e.uiBack(w, r, msg, "")
}

// uiBack redirects to the page with a message or an error.
func (e *Emulator) uiBack(w http.ResponseWriter, r *http.Request, msg, errMsg string) {
	q := url.Values{}
	if msg != "" {
		q.Set("msg", msg)
	}
	if errMsg != "" {
		q.Set("error", errMsg)
	}
	http.Redirect(w, r, ControlPrefix+"ui?"+q.Encode(), http.StatusSeeOther)
}
