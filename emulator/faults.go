package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Fault knobs. Each route keeps two queues, consumed one entry per request
// that reaches the route: delays, and outcomes (fail, drop, rate limit). A
// request first waits out its delay, if any, then takes its outcome, if
// any; otherwise it is served normally. Knobs called several times append
// to the queues in order.

// outcomeKind is what an injected outcome does instead of serving.
type outcomeKind int

const (
	outcomeNone outcomeKind = iota
	outcomeFail
	outcomeDrop
	outcomeRateLimit
	outcomeLoseResponse
)

// outcome is one injected outcome.
type outcome struct {
	kind       outcomeKind
	status     int           // outcomeFail
	retryAfter time.Duration // outcomeRateLimit
}

// run is n repetitions of one queued value.
type run[T any] struct {
	v T
	n int
}

// queue is a FIFO of runs.
type queue[T any] []run[T]

func (q *queue[T]) push(v T, n int) { *q = append(*q, run[T]{v, n}) }

func (q *queue[T]) pop() (T, bool) {
	var zero T
	if len(*q) == 0 {
		return zero, false
	}
	head := &(*q)[0]
	v := head.v
	if head.n--; head.n == 0 {
		*q = (*q)[1:]
	}
	return v, true
}

// routeFaults holds the queued faults of one route.
type routeFaults struct {
	delays   queue[time.Duration]
	outcomes queue[outcome]
}

// fault is what a request must suffer before being served.
type fault struct {
	delay   time.Duration
	outcome outcome
}

// FailNext makes the next n requests to r answer status (4xx or 5xx) with a
// JSON body {"detail":"injected failure"}, without touching any state. It
// panics on an unknown route, a negative n or a status outside 400–599.
func (e *Emulator) FailNext(r Route, n int, status int) {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("emulator: FailNext(%s, %d, %d): status is not an error", r, n, status))
	}
	e.pushOutcome("FailNext", r, n, outcome{kind: outcomeFail, status: status})
}

// DropNext makes the next n requests to r lose their connection: the
// emulator closes it without answering, and changes no state.
// It panics on an unknown route or a negative n.
func (e *Emulator) DropNext(r Route, n int) {
	e.pushOutcome("DropNext", r, n, outcome{kind: outcomeDrop})
}

// LoseResponseNext makes the next n requests to r be served in full, every
// state change included, and then lose their connection before the answer
// is sent: a refresh the server completed, rotating the refresh token,
// whose answer the client never sees (a cancelled refresh, reference
// §10.2, §10.9). It panics on an unknown route or a negative n.
func (e *Emulator) LoseResponseNext(r Route, n int) {
	e.pushOutcome("LoseResponseNext", r, n, outcome{kind: outcomeLoseResponse})
}

// discardWriter is a ResponseWriter that keeps nothing: the answer of a
// request whose response is lost.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// RateLimitNext makes the next n requests to r answer 429 with a
// Retry-After header of retryAfter in whole seconds (rounded up), without
// touching any state. It panics on an unknown route, a negative n or a
// negative retryAfter.
func (e *Emulator) RateLimitNext(r Route, n int, retryAfter time.Duration) {
	if retryAfter < 0 {
		panic(fmt.Sprintf("emulator: RateLimitNext(%s, %d, %v): negative Retry-After", r, n, retryAfter))
	}
	e.pushOutcome("RateLimitNext", r, n, outcome{kind: outcomeRateLimit, retryAfter: retryAfter})
}

// DelayNext makes the next n requests to r wait d before they are handled:
// in real time, not the emulator's clock, unless [WithAfter] supplies the
// wait. A request whose context ends
// during the wait is abandoned without an answer or a state change. It
// panics on an unknown route, a negative n or a negative d.
func (e *Emulator) DelayNext(r Route, n int, d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("emulator: DelayNext(%s, %d, %v): negative delay", r, n, d))
	}
	e.queueFault("DelayNext", r, n, func(f *routeFaults) { f.delays.push(d, n) })
}

// ClearFaults drops every queued fault of every route.
func (e *Emulator) ClearFaults() {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.faults)
}

// Requests returns how many requests have reached r, including those that
// a fault knob failed, delayed or dropped. It panics on an unknown route.
func (e *Emulator) Requests(r Route) int {
	if !r.valid() {
		panic(fmt.Sprintf("emulator: Requests(%q): unknown route", string(r)))
	}
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[r]
}

// TotalRequests returns how many requests the emulator has received,
// including those to unknown routes.
func (e *Emulator) TotalRequests() int {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.total
}

// pushOutcome queues n outcomes o for r on behalf of the knob called name.
func (e *Emulator) pushOutcome(name string, r Route, n int, o outcome) {
	e.queueFault(name, r, n, func(f *routeFaults) { f.outcomes.push(o, n) })
}

// queueFault checks the arguments of the knob called name and, unless n is
// 0, lets push append to r's fault queues under the lock.
func (e *Emulator) queueFault(name string, r Route, n int, push func(*routeFaults)) {
	if !r.valid() {
		panic(fmt.Sprintf("emulator: %s(%q): unknown route", name, string(r)))
	}
	if n < 0 {
		panic(fmt.Sprintf("emulator: %s(%s, %d): negative count", name, r, n))
	}
	if n == 0 {
		return
	}
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.faults[r]
	if f == nil {
		f = &routeFaults{}
		e.faults[r] = f
	}
	push(f)
}

// admit counts a request to r ("" for an unknown route) and takes the
// faults queued for it.
func (e *Emulator) admit(r Route) fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.total++
	if r == "" {
		return fault{}
	}
	e.counts[r]++
	var f fault
	if q := e.faults[r]; q != nil {
		f.delay, _ = q.delays.pop()
		f.outcome, _ = q.outcomes.pop()
	}
	return f
}

// apply makes the request suffer f, waiting out a delay on after (a real
// timer when nil). It reports whether the request should still be served.
func (f fault) apply(w http.ResponseWriter, r *http.Request, after func(time.Duration) <-chan time.Time) bool {
	if f.delay > 0 {
		// Read the body first: net/http notices a client that hangs up (and
		// cancels r.Context()) only once the body has been consumed.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var wait <-chan time.Time
		if after != nil {
			wait = after(f.delay)
		} else {
			t := time.NewTimer(f.delay)
			defer t.Stop()
			wait = t.C
		}
		select {
		case <-wait:
		case <-r.Context().Done():
			return false
		}
	}
	switch f.outcome.kind {
	case outcomeFail:
		writeDetail(w, f.outcome.status, "injected failure")
		return false
	case outcomeRateLimit:
		secs := (f.outcome.retryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		writeDetail(w, http.StatusTooManyRequests, "rate limit exceeded")
		return false
	case outcomeDrop:
		dropConnection(w)
		return false
	}
	return true
}

// dropConnection closes the client connection without an answer. When the
// connection cannot be hijacked (HTTP/2, a ResponseRecorder), it aborts the
// handler with http.ErrAbortHandler, which net/http turns into a reset
// stream or closed connection.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
