// Package httpops is the operational layer of an HTTP service that mounts
// vitalsync's issuer (or anything else): structured request logs that never
// hold a header, query or body; Prometheus metrics of the Go runtime, the
// process and the build on a Registerer; a readiness handler that runs its
// checks at once within a budget; connection limits; and a graceful
// shutdown. vitalsync serve is built from it. A backend that mounts
// issuer.Handler in its own server uses it in a few lines:
//
//	reg := prometheus.NewRegistry()
//	_ = httpops.RegisterProcessMetrics(reg)
//	iss, _ := issuer.New(issuer.Config{..., Registerer: reg})
//	mux := http.NewServeMux()
//	mux.Handle("/", iss) // /v1/…, /healthz, /metrics
//	mux.Handle(httpops.PathReady, httpops.Ready(log, 2*time.Second, httpops.Check{Name: "database", Func: db.Ping}))
//	err := httpops.Serve(ctx, ln, httpops.RequestLog(log, nil, mux), httpops.Options{Log: log, Name: "backend"})
package httpops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// ErrBadLogOption is matched by NewLogger's error for an unknown format or
// level.
var ErrBadLogOption = errors.New("httpops: unknown log format or level")

// NewLogger returns a logger writing to w in format ("text" or "json") at
// level ("debug", "info", "warn", "error") and above.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	switch level {
	case "debug", "info", "warn", "error":
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("%w: level %q", ErrBadLogOption, level)
		}
	default:
		return nil, fmt.Errorf("%w: level %q (debug|info|warn|error)", ErrBadLogOption, level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: format %q (text|json)", ErrBadLogOption, format)
}

// RequestLog logs one line per request on log: method, route, status and
// duration, at warn for a 5xx and info otherwise. route names a request's
// route (nil: "other" for every path); the path itself, which may hold an
// ID, and headers, queries and bodies, where sessions and tokens travel,
// are never logged.
func RequestLog(log *slog.Logger, route func(*http.Request) string, h http.Handler) http.Handler {
	if route == nil {
		route = func(*http.Request) string { return "other" }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := NewStatusRecorder(w)
		h.ServeHTTP(sw, r)
		level := slog.LevelInfo
		if sw.Code() >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("route", route(r)),
			slog.Int("status", sw.Code()), slog.Duration("duration", time.Since(start)))
	})
}

// StatusRecorder is a ResponseWriter that remembers the status its
// handler wrote, for logs and metrics. Unwrap gives http.ResponseController
// the underlying writer (to hijack or flush it).
type StatusRecorder struct {
	http.ResponseWriter
	status int
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w}
}

// WriteHeader records status and passes it on.
func (w *StatusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records the implicit 200 of a body written without WriteHeader.
func (w *StatusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the status written: 0 when the handler wrote nothing (it
// hijacked the connection, or has not answered yet).
func (w *StatusRecorder) Status() int { return w.status }

// Code is the status the client saw: 200 when the handler wrote nothing
// and returned.
func (w *StatusRecorder) Code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// PathReady is where a service answers readiness, by convention.
const PathReady = "/readyz"

// Check is one dependency Ready checks: Func returns nil when it is usable.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Readiness results, as Ready reports them per check.
const (
	CheckOK      = "ok"
	CheckFailed  = "failed"
	CheckTimeout = "timeout"
)

// ReadyBody is Ready's answer.
type ReadyBody struct {
	Status string            `json:"status"` // "ready" or "not_ready"
	Checks map[string]string `json:"checks"` // check → ok|failed|timeout
}

// Ready answers GET and HEAD by running every check at once within budget:
// 200 {"status":"ready",…} when all pass, 503 {"status":"not_ready",…}
// naming each check's result otherwise (with Retry-After). A failure is
// logged on log with its error; the answer says only which check failed,
// never why. Requests that arrive while the checks run wait for that one
// run (ReadyEvery also reuses a result for an interval).
func Ready(log *slog.Logger, budget time.Duration, checks ...Check) http.Handler {
	return ReadyEvery(log, budget, 0, checks...)
}

// ReadyEvery is Ready running its checks at most once per interval: a
// request inside the interval gets the last result, so a readiness probe
// costs its dependencies one check per interval however often it is asked
// (an unauthenticated caller cannot make it spend more).
func ReadyEvery(log *slog.Logger, budget, interval time.Duration, checks ...Check) http.Handler {
	c := &readyCache{log: log, budget: budget, interval: interval, checks: checks}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeReady(w, http.StatusMethodNotAllowed, ReadyBody{Status: "method_not_allowed"})
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
	checks           []Check

	mu      sync.Mutex
	at      time.Time     // when the last run ended; zero: none yet
	status  int           // its answer
	body    ReadyBody     // (never changed once stored)
	running chan struct{} // closed when the run in flight ends; nil: none
}

// result returns the last run's answer if it is fresh, else joins the run
// in flight or starts one. A caller that gives up while waiting gets 503.
func (c *readyCache) result(ctx context.Context) (int, ReadyBody) {
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
		return http.StatusServiceUnavailable, ReadyBody{Status: "not_ready", Checks: map[string]string{}}
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
func runChecks(log *slog.Logger, budget time.Duration, checks []Check) (int, ReadyBody) {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	body := ReadyBody{Status: "ready", Checks: make(map[string]string, len(checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			err := c.Func(ctx)
			result := CheckOK
			switch {
			case err == nil:
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				result = CheckTimeout
			default:
				result = CheckFailed
			}
			if err != nil {
				log.LogAttrs(ctx, slog.LevelWarn, "readiness check failed",
					slog.String("check", c.Name), slog.String("result", result), slog.String("error", err.Error()))
			}
			mu.Lock()
			body.Checks[c.Name] = result
			mu.Unlock()
		})
	}
	wg.Wait()
	status := http.StatusOK
	for _, v := range body.Checks {
		if v != CheckOK {
			body.Status, status = "not_ready", http.StatusServiceUnavailable
		}
	}
	return status, body
}

func writeReady(w http.ResponseWriter, status int, body ReadyBody) {
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// RegisterProcessMetrics adds the Go runtime's and the process's collectors
// and vitalsync_build_info{version,revision,goversion} to reg: the build
// ReadBuild reads, the revision "unknown" when none is recorded.
func RegisterProcessMetrics(reg prometheus.Registerer) error {
	b := ReadBuild()
	revision := cmp.Or(b.Revision, "unknown")
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vitalsync_build_info",
		Help: "Always 1; the labels say which build of vitalsync serves.",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(b.Version, revision, b.Go).Set(1)
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

// Limits bound a server's connections. The zero value of a field means its
// default.
type Limits struct {
	ReadHeaderTimeout time.Duration // default 10s, at most ReadTimeout
	ReadTimeout       time.Duration // a whole request, body included; default 30s
	WriteTimeout      time.Duration // from the end of the headers to the end of the answer; default 60s
	IdleTimeout       time.Duration // an idle keep-alive connection; default 120s
	// MaxConnsPerClient caps the connections one client IP address holds
	// open at once; more are closed at accept: above what one busy client
	// (or a reverse proxy's pool, which all traffic shares) opens, far below
	// what a slow-request attack needs to starve the server. Default 512;
	// negative: no cap.
	MaxConnsPerClient int
}

// The defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxConnsPerClient = 512
	// DefaultShutdownTimeout is how long requests in flight may take to
	// finish once Serve's context ends.
	DefaultShutdownTimeout = 5 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadHeaderTimeout > l.ReadTimeout {
		l.ReadHeaderTimeout = l.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxConnsPerClient == 0 {
		l.MaxConnsPerClient = DefaultMaxConnsPerClient
	}
	return l
}

// Options configure Serve.
type Options struct {
	Log  *slog.Logger // nil: slog.Default()
	Name string       // prefixes errors and log lines; default "server"
	// ShutdownTimeout is how long requests in flight may take once ctx
	// ends (0: DefaultShutdownTimeout; negative: none, cut off at once).
	ShutdownTimeout time.Duration
	Limits          Limits
	// Ready, when set, runs once the server accepts connections (to print
	// a banner); its error stops the server and is returned.
	Ready func() error
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: the
// listener closes at once (new connections are refused), idle connections
// close, and requests in flight have up to ShutdownTimeout to finish before
// their connections are closed too. It logs when the shutdown starts and
// ends (clean=false when requests had to be cut off, and then it returns an
// error). It returns nil after a clean shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	name := o.Name
	if name == "" {
		name = "server"
	}
	timeout := o.ShutdownTimeout
	switch {
	case timeout == 0:
		timeout = DefaultShutdownTimeout
	case timeout < 0:
		timeout = 0
	}
	limits := o.Limits.withDefaults()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if limits.MaxConnsPerClient > 0 {
		ln = newClientCapListener(ln, limits.MaxConnsPerClient, log.With("server", name))
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if o.Ready != nil {
		if err := o.Ready(); err != nil {
			srv.Close()
			<-served
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	select {
	case err := <-served:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	began := time.Now()
	log.Info(name+" shutdown started", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("%s: %w", name, serr)
	}
	log.Info(name+" shutdown finished", "duration", time.Since(began), "clean", err == nil)
	if err == nil {
		log.Info(name + " stopped")
	}
	return err
}

// clientCapListener closes, at accept, a connection from a client IP
// address that already holds max open ones: one client cannot take every
// connection a server has. Refusals are counted and logged at most once a
// second.
type clientCapListener struct {
	net.Listener
	max     int
	log     *slog.Logger
	mu      sync.Mutex
	open    map[string]int
	refused atomic.Int64
	logged  atomic.Int64 // Unix seconds of the last refusal logged
}

func newClientCapListener(ln net.Listener, max int, log *slog.Logger) *clientCapListener {
	return &clientCapListener{Listener: ln, max: max, log: log, open: map[string]int{}}
}

// Accept returns the next connection within the cap, closing those over it.
func (l *clientCapListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := clientHost(c.RemoteAddr())
		l.mu.Lock()
		n := l.open[host]
		if n >= l.max {
			l.mu.Unlock()
			c.Close()
			total := l.refused.Add(1)
			if now := time.Now().Unix(); l.logged.Swap(now) != now {
				l.log.Warn("connection refused: client at its connection cap", "client", host, "cap", l.max, "refused_total", total)
			}
			continue
		}
		l.open[host] = n + 1
		l.mu.Unlock()
		return &cappedConn{Conn: c, l: l, host: host}, nil
	}
}

func (l *clientCapListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

// clientHost is a remote address's IP, the cap's key.
func clientHost(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// cappedConn gives its slot back once, when closed.
type cappedConn struct {
	net.Conn
	l    *clientCapListener
	host string
	once sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.host) })
	return err
}
