package emulator

import (
	"github.com/vitalsync/vitalsync/httpops"
	"net/http"
	"slices"
	"time"
)

// maxRecent is how many API requests [Emulator.RecentRequests] keeps.
const maxRecent = 50

// Route names of requests that matched no emulated route.
const (
	// RouteNameNotEmulated names a request to a real Vital API path that
	// the emulator does not serve (it answers 404 saying so).
	RouteNameNotEmulated = "not-emulated"
	// RouteNameUnknown names a request to a path that is not an emulated
	// route, or an emulated path with the wrong method.
	RouteNameUnknown = "unknown"
)

// RequestRecord is one request the emulator answered, as the request log
// and the web UI show it. It holds no header, query or body, so no API key
// or token ever reaches it.
type RequestRecord struct {
	// Time is when the request arrived, on the emulator's clock.
	Time time.Time
	// Method is the HTTP method.
	Method string
	// Path is the URL path without the query.
	Path string
	// Route is the route's short name ([Route.Name]), "control-…" for the
	// control plane, [RouteNameNotEmulated] or [RouteNameUnknown].
	Route string
	// Status is the HTTP status answered, or 0 when the request was dropped
	// or abandoned without an answer.
	Status int
	// Latency is how long the answer took, on the emulator's clock (with
	// the command's wall clock, real time).
	Latency time.Duration
}

// WithObserver sets a function called once per request the emulator, or
// its control plane (see [Emulator.Handler]), has finished, after the
// answer; the command uses it for its request log. It is called outside the
// emulator's lock and must be safe for concurrent use.
func WithObserver(observe func(RequestRecord)) Option {
	return func(c *config) { c.observe = observe }
}

// RecentRequests returns the last requests to the emulated API (not the
// control plane), oldest first: at most 50.
func (e *Emulator) RecentRequests() []RequestRecord {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.recent)
}

// track starts recording a request named route. The returned done, deferred
// by the caller, records it (in the recent list when api) and calls the
// observer; it runs even when the handler aborts (a dropped connection).
func (e *Emulator) track(w http.ResponseWriter, r *http.Request, route string, api bool) (*httpops.StatusRecorder, func()) {
	sw := httpops.NewStatusRecorder(w)
	start := e.Now()
	return sw, func() {
		e.mu.Lock()
		end := e.now()
		rec := RequestRecord{Time: start, Method: r.Method, Path: r.URL.EscapedPath(), Route: route, Status: sw.Status(), Latency: max(end.Sub(start), 0)}
		if api {
			if len(e.recent) == maxRecent {
				e.recent = slices.Delete(e.recent, 0, 1)
			}
			e.recent = append(e.recent, rec)
		}
		observe := e.cfg.observe
		e.mu.Unlock()
		if observe != nil {
			observe(rec)
		}
	}
}
