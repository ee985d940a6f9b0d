package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// ControlPrefix is the path prefix of the control plane. No Vital API path
// starts with it.
const ControlPrefix = "/_emulator/"

// Bounds of the control plane's arguments.
const (
	// MaxFaultCount is the largest count of one fault request.
	MaxFaultCount = 10000
	// MaxFaultDelay is the longest delay the control plane queues.
	MaxFaultDelay = 10 * time.Minute
	// MaxRetryAfter is the longest Retry-After the control plane queues.
	MaxRetryAfter = 24 * time.Hour
	// MaxAdvance is the furthest one advance moves the clock.
	MaxAdvance = 10 * 365 * 24 * time.Hour
)

// Handler returns the emulator with its control plane mounted: requests
// under [ControlPrefix] go to [Emulator.ControlPlane], every other request
// to the emulator itself.
func (e *Emulator) Handler() http.Handler {
	cp := e.ControlPlane()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); strings.HasPrefix(p, ControlPrefix) || p == strings.TrimSuffix(ControlPrefix, "/") {
			cp.ServeHTTP(w, r)
			return
		}
		e.ServeHTTP(w, r)
	})
}

// ControlPlane returns the handler of the control plane, which expects the
// full path (ControlPrefix included): a small JSON API to look inside the
// emulator and steer it, and the web UI at /_emulator/ui. See the package
// documentation for its routes. It is for its owner only: it answers only
// the hosts it serves (WithControlHosts; loopback by default, which
// refuses DNS rebinding), and a change (any method but GET and HEAD) needs
// the per-process ControlToken and is refused from a foreign or null
// Origin or when the browser marks it as another site's or origin's.
func (e *Emulator) ControlPlane() http.Handler {
	return http.HandlerFunc(e.serveControl)
}

// controlError is a control-plane request that cannot be done: status and
// a message for the {"detail": …} body.
type controlError struct {
	status int
	msg    string
}

func (c *controlError) Error() string { return c.msg }

func badRequest(format string, args ...any) error {
	return &controlError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// faultRequest is the body of POST /_emulator/faults/{kind}.
type faultRequest struct {
	Route      string `json:"route"`
	Count      *int   `json:"count"`
	Status     int    `json:"status"`
	Delay      string `json:"delay"`
	RetryAfter string `json:"retry_after"`
}

// advanceRequest is the body of POST /_emulator/clock/advance.
type advanceRequest struct {
	By string `json:"by"`
}

// serveControl serves the control plane.
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request) {
	e.init()
	path := strings.TrimPrefix(strings.TrimPrefix(r.URL.EscapedPath(), strings.TrimSuffix(ControlPrefix, "/")), "/")
	name := "control-" + strings.ReplaceAll(strings.SplitN(path, "/", 2)[0], ".", "")
	if path == "" {
		name = "control"
	}
	sw, done := e.track(w, r, name, false)
	defer done()
	w = sw
	if why := e.controlRefusal(w, r); why != "" {
		writeDetail(w, http.StatusForbidden, why)
		return
	}
	segs := strings.Split(path, "/")
	route := func(method string) bool {
		if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
		w.Header().Set("Allow", method)
		writeDetail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return false
	}
	var (
		result any
		err    error
	)
	switch {
	case path == "" || path == "ui":
		if route(http.MethodGet) {
			e.serveUI(w, r)
		}
		return
	case len(segs) == 2 && segs[0] == "ui":
		if route(http.MethodPost) {
			e.serveUIAction(w, r, segs[1])
		}
		return
	case path == "health":
		if !route(http.MethodGet) {
			return
		}
		result = struct {
			Status string    `json:"status"`
			Time   time.Time `json:"time"`
		}{"ok", e.Now()}
	case path == "state":
		if !route(http.MethodGet) {
			return
		}
		result = e.Overview()
	case path == "reset":
		if !route(http.MethodPost) {
			return
		}
		e.Reset()
		result = e.Overview()
	case path == "faults":
		if !route(http.MethodDelete) {
			return
		}
		e.ClearFaults()
		result = e.Overview().Faults
	case len(segs) == 2 && segs[0] == "faults":
		if !route(http.MethodPost) {
			return
		}
		var req faultRequest
		if err = decodeControl(w, r, &req); err == nil {
			result, err = e.queueControlFault(segs[1], req)
		}
	case path == "clock/advance":
		if !route(http.MethodPost) {
			return
		}
		var req advanceRequest
		if err = decodeControl(w, r, &req); err == nil {
			result, err = e.controlAdvance(req.By)
		}
	case len(segs) == 2 && segs[0] == "users":
		if !route(http.MethodDelete) {
			return
		}
		result, err = e.controlUser("delete", segs[1])
	case len(segs) == 3 && segs[0] == "users":
		if !route(http.MethodPost) {
			return
		}
		result, err = e.controlUser(segs[2], segs[1])
	default:
		writeDetail(w, http.StatusNotFound, "no such control-plane route: see docs/guides/emulator.md, \"Control plane\"")
		return
	}
	var ce *controlError
	switch {
	case errors.As(err, &ce):
		writeDetail(w, ce.status, ce.msg)
	case err != nil:
		writeDetail(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, result)
	}
}

// decodeControl decodes a JSON body strictly (an empty body is an empty
// object).
func decodeControl(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return &controlError{http.StatusRequestEntityTooLarge, "request body too large"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the body is not the expected JSON object: %v", err)
	}
	if dec.More() {
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

// queueControlFault validates and queues a fault of the given kind (fail,
// delay, drop, rate-limit), answering the route's queue.
func (e *Emulator) queueControlFault(kind string, req faultRequest) (any, error) {
	rt, ok := ParseRoute(req.Route)
	if !ok {
		names := make([]string, 0, len(routeNames))
		for _, r := range Routes() {
			names = append(names, r.Name())
		}
		return nil, badRequest("route %q is not emulated; use one of %s (or the \"METHOD /pattern\" form)", req.Route, strings.Join(names, ", "))
	}
	n := 1
	if req.Count != nil {
		n = *req.Count
	}
	if n < 1 || n > MaxFaultCount {
		return nil, badRequest("count must be between 1 and %d, not %d", MaxFaultCount, n)
	}
	duration := func(field, s string, lo, hi time.Duration) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		switch {
		case s == "":
			return 0, badRequest("%s is required (a duration such as \"2s\")", field)
		case err != nil:
			return 0, badRequest("%s %q is not a duration such as \"2s\"", field, s)
		case d < lo || d > hi:
			return 0, badRequest("%s must be between %v and %v, not %v", field, lo, hi, d)
		}
		return d, nil
	}
	switch kind {
	case "fail":
		if req.Status < 400 || req.Status > 599 {
			return nil, badRequest("status must be an error status between 400 and 599, not %d", req.Status)
		}
		e.FailNext(rt, n, req.Status)
	case "delay":
		d, err := duration("delay", req.Delay, time.Millisecond, MaxFaultDelay)
		if err != nil {
			return nil, err
		}
		e.DelayNext(rt, n, d)
	case "drop":
		e.DropNext(rt, n)
	case "rate-limit":
		ra := "0s"
		if req.RetryAfter != "" {
			ra = req.RetryAfter
		}
		d, err := duration("retry_after", ra, 0, MaxRetryAfter)
		if err != nil {
			return nil, err
		}
		e.RateLimitNext(rt, n, d)
	default:
		return nil, &controlError{http.StatusNotFound, "no fault kind " + strconvQuote(kind) + ": use fail, delay, drop or rate-limit"}
	}
	for _, f := range e.Overview().Faults {
		if f.Route == string(rt) {
			return f, nil
		}
	}
	return FaultOverview{Route: string(rt), Name: rt.Name(), Delays: []DelayOverview{}, Outcomes: []OutcomeQueued{}}, nil
}

// controlAdvance moves the clock by a duration.
func (e *Emulator) controlAdvance(by string) (any, error) {
	d, err := time.ParseDuration(by)
	switch {
	case by == "":
		return nil, badRequest("by is required (a duration such as \"1h\")")
	case err != nil:
		return nil, badRequest("by %q is not a duration such as \"1h\"", by)
	case d <= 0 || d > MaxAdvance:
		return nil, badRequest("by must be positive and at most %v, not %v", MaxAdvance, d)
	}
	e.Advance(d)
	return struct {
		Time        time.Time `json:"time"`
		ClockOffset string    `json:"clock_offset"`
	}{e.Now(), e.ClockOffset().String()}, nil
}

// controlUser applies a user action (delete, revoke-refresh-tokens,
// expire-access-tokens) to the user whose escaped ID is escapedID.
func (e *Emulator) controlUser(action, escapedID string) (any, error) {
	id, err := url.PathUnescape(escapedID)
	if err != nil || !junction.IsUUID(id) {
		return nil, badRequest("user ID %s is not a UUID", strconvQuote(escapedID))
	}
	notFound := &controlError{http.StatusNotFound, "no user " + strings.ToLower(id)}
	switch action {
	case "delete":
		if e.DeleteUser(id) != nil {
			return nil, &controlError{http.StatusNotFound, "no active user " + strings.ToLower(id)}
		}
	case "revoke-refresh-tokens":
		if !e.hasUser(id) {
			return nil, notFound
		}
		e.RevokeRefreshTokens(id)
	case "expire-access-tokens":
		if e.ExpireAccessTokens(id) != nil {
			return nil, notFound
		}
	case "undo-delete":
		switch err := e.UndoDelete(id); {
		case errors.Is(err, ErrUserNotFound):
			return nil, notFound
		case errors.Is(err, ErrNotRestorable):
			return nil, badRequest("user %s was deleted more than %v ago: past the grace period", strings.ToLower(id), DeletionGracePeriod)
		case errors.Is(err, ErrClientUserIDTaken):
			return nil, badRequest("another active user now has the client_user_id of user %s", strings.ToLower(id))
		}
	default:
		return nil, &controlError{http.StatusNotFound, "no user action " + strconvQuote(action) + ": use revoke-refresh-tokens, expire-access-tokens or undo-delete"}
	}
	for _, u := range e.Overview().Users {
		if u.UserID == strings.ToLower(id) {
			return u, nil
		}
	}
	return nil, notFound
}

// hasUser reports whether a user, active or deleted, has the ID.
func (e *Emulator) hasUser(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.users[strings.ToLower(id)] != nil
}

// strconvQuote quotes an outside value for an error message.
func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
