package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vitalsync/vitalsync/adapters/issuer"
)

// newLogger is serve's logger on w: format text or json, at level and
// above.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := oneOf("log-level", level, "debug", "info", "warn", "error"); err != nil {
		return nil, err
	}
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, oneOf("log-format", format, "text", "json")
}

// routeName is the route a request's path is logged as: a path serve
// answers itself, "emulator" for the rest when an emulator is mounted, and
// "other" otherwise. Never the query, which may name the app user.
func routeName(path string, emulator bool) string {
	if path == pathReady || slices.Contains(issuer.Paths(), path) {
		return path
	}
	if emulator {
		return "emulator"
	}
	return "other"
}

// withRequestLog logs one line per request: method, route, status and
// duration. Headers, queries and bodies, where sessions and tokens travel,
// are never logged.
func withRequestLog(log *slog.Logger, emulator bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		level := slog.LevelInfo
		if sw.code() >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("route", routeName(r.URL.Path, emulator)),
			slog.Int("status", sw.code()), slog.Duration("duration", time.Since(start)))
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records status and passes it on.
func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records the implicit 200 of a body written without WriteHeader.
func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// readyCheck is one dependency /readyz checks.
type readyCheck struct {
	name  string
	check func(ctx context.Context) error
}

// Readiness check results, as /readyz reports them per check.
const (
	checkOK      = "ok"
	checkFailed  = "failed"
	checkTimeout = "timeout"
)

// readyBody is the answer of GET /readyz.
type readyBody struct {
	Status string            `json:"status"` // "ready" or "not_ready"
	Checks map[string]string `json:"checks"` // check → ok|failed|timeout
}

// readyHandler answers 200 when every check passes, 503 (with
// Retry-After) naming the ones that failed or ran out of time otherwise.
// The checks run at once within budget, at most once per interval: a
// request inside the interval gets the last result, and requests that
// arrive while the checks run wait for that one run. So /readyz costs the
// team API one call per interval, however often it is asked (an
// unauthenticated caller cannot make it spend more). Failures are logged
// with their error; the answer says only which failed.
func readyHandler(log *slog.Logger, budget, interval time.Duration, checks []readyCheck) http.Handler {
	c := &readyCache{log: log, budget: budget, interval: interval, checks: checks}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeReady(w, http.StatusMethodNotAllowed, readyBody{Status: "method_not_allowed"})
			return
		}
		status, body := c.result(r.Context())
		if status != http.StatusOK {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(interval/time.Second))))
		}
		writeReady(w, status, body)
	})
}

// readyCache runs the checks at most once per interval.
type readyCache struct {
	log              *slog.Logger
	budget, interval time.Duration
	checks           []readyCheck

	mu      sync.Mutex
	at      time.Time     // when the last run ended; zero: none yet
	status  int           // its answer
	body    readyBody     // (never changed once stored)
	running chan struct{} // closed when the run in flight ends; nil: none
}

// result returns the last run's answer if it is fresh, else joins the run
// in flight or starts one. A caller that gives up while waiting gets 503.
func (c *readyCache) result(ctx context.Context) (int, readyBody) {
	c.mu.Lock()
	if !c.at.IsZero() && time.Since(c.at) < c.interval {
		defer c.mu.Unlock()
		return c.status, c.body
	}
	wait := c.running
	if wait == nil {
		wait = make(chan struct{})
		c.running = wait
		go c.run(wait)
	}
	c.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return http.StatusServiceUnavailable, readyBody{Status: "not_ready", Checks: map[string]string{}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.body
}

// run runs the checks once, detached from any one request, and stores the
// answer.
func (c *readyCache) run(done chan struct{}) {
	status, body := runChecks(c.log, c.budget, c.checks)
	c.mu.Lock()
	c.at, c.status, c.body, c.running = time.Now(), status, body, nil
	c.mu.Unlock()
	close(done)
}

// runChecks runs every check at once within budget.
func runChecks(log *slog.Logger, budget time.Duration, checks []readyCheck) (int, readyBody) {
	{
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		body := readyBody{Status: "ready", Checks: make(map[string]string, len(checks))}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range checks {
			wg.Go(func() {
				err := c.check(ctx)
				result := checkOK
				switch {
				case err == nil:
				case errors.Is(ctx.Err(), context.DeadlineExceeded):
					result = checkTimeout
				default:
					result = checkFailed
				}
				if err != nil {
					log.LogAttrs(ctx, slog.LevelWarn, "readiness check failed",
						slog.String("check", c.name), slog.String("result", result), slog.String("error", err.Error()))
				}
				mu.Lock()
				body.Checks[c.name] = result
				mu.Unlock()
			})
		}
		wg.Wait()
		status := http.StatusOK
		for _, v := range body.Checks {
			if v != checkOK {
				body.Status, status = "not_ready", http.StatusServiceUnavailable
			}
		}
		return status, body
	}
}

func writeReady(w http.ResponseWriter, status int, body readyBody) {
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// registerProcessMetrics adds the Go runtime's and the process's collectors
// and vitalsync_build_info to reg.
func registerProcessMetrics(reg prometheus.Registerer) error {
	version, revision := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vitalsync_build_info",
		Help: "Always 1; the labels say which build of vitalsync serves.",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(version, revision, runtime.Version()).Set(1)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
