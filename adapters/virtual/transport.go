package virtual

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Errors of [Transport], as the Err of the *url.Error an http.Client returns.
var (
	// ErrUnknownHost: no handler serves the request's host, the in-process
	// counterpart of a failed DNS lookup.
	ErrUnknownHost = errors.New("virtual: no handler for host")
	// ErrConnectionDropped: the handler aborted with http.ErrAbortHandler
	// (the emulator's DropNext does) before or while answering, so the
	// client sees a connection closed without a (complete) answer.
	ErrConnectionDropped = errors.New("virtual: connection dropped")
)

// Transport is an http.RoundTripper that serves requests in process, with no
// sockets: each request goes to the http.Handler registered for its host and
// is served on a goroutine of its own, as net/http's server would.
//
//   - The handler's request carries the client request's context, so a
//     cancelled or timed-out call ends the handler's wait as a hung-up
//     client does, and RoundTrip returns the context's error.
//   - The response arrives once the handler writes its header (or its first
//     body bytes, or returns); the body is a stream that yields what the
//     handler writes as it writes it; once the context ends, reading it
//     fails with the context's error, as in net/http.
//   - A handler that panics with http.ErrAbortHandler (the emulator's
//     DropNext, which cannot hijack an in-process connection) is a dropped
//     connection: RoundTrip fails with [ErrConnectionDropped], or, if the
//     header was already sent, reading the body does.
//   - Any other panic is a bug in the handler: it is re-raised on the
//     caller's goroutine, with the handler's stack, or, once the header is
//     sent, makes reading the body fail with an error that carries it.
//   - An unknown host fails with [ErrUnknownHost].
//
// The zero value serves no host; [Transport.Handle] adds them. A Transport is
// safe for concurrent use, also while hosts are added.
type Transport struct {
	mu    sync.RWMutex
	hosts map[string]http.Handler
}

// NewTransport returns a Transport serving each handler at its host (a host
// name with an optional port, as in a URL: "api.emulator.test").
func NewTransport(hosts map[string]http.Handler) *Transport {
	t := &Transport{}
	for host, h := range hosts {
		t.Handle(host, h)
	}
	return t
}

// Handle serves h at host (a host name with an optional port, matched
// without regard to case) and returns the base URL, "http://<host>". A
// second Handle for the same host replaces the first. It panics on an empty
// host or a nil handler.
func (t *Transport) Handle(host string, h http.Handler) string {
	if host == "" || h == nil || strings.ContainsAny(host, "/ ") {
		panic(fmt.Sprintf("virtual: Transport.Handle(%q): bad host or nil handler", host))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hosts == nil {
		t.hosts = make(map[string]http.Handler)
	}
	t.hosts[strings.ToLower(host)] = h
	return "http://" + host
}

// Client returns an http.Client that uses t. It does not follow redirects
// to hosts t does not serve any better than to others: they fail with
// [ErrUnknownHost].
func (t *Transport) Client() *http.Client { return &http.Client{Transport: t} }

// CloseIdleConnections does nothing: there are no connections. It exists so
// that http.Client.CloseIdleConnections has something to call.
func (t *Transport) CloseIdleConnections() {}

// RoundTrip serves req with the handler of its host.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if req.URL == nil {
		closeBody()
		return nil, errors.New("virtual: request without a URL")
	}
	t.mu.RLock()
	h := t.hosts[strings.ToLower(req.URL.Host)]
	t.mu.RUnlock()
	if h == nil {
		closeBody()
		return nil, fmt.Errorf("%w %q", ErrUnknownHost, req.URL.Host)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody()
		return nil, err
	}

	sreq := serverRequest(req)
	w := newResponseWriter(req)
	go func() {
		defer closeBody()
		defer w.finish()
		defer func() {
			if v := recover(); v != nil {
				w.abort(v, debug.Stack())
			}
		}()
		h.ServeHTTP(w, sreq)
	}()

	select {
	case r := <-w.ready:
		if r.panicked != nil {
			panic(r.panicked)
		}
		if r.err != nil {
			return nil, r.err
		}
		go w.body.wakeOnDone()
		return r.resp, nil
	case <-ctx.Done():
		// The handler sees the same context and ends; its answer, if it
		// still gives one, goes nowhere.
		w.body.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
}

// serverRequest is the request the handler sees: the client's, with the
// fields net/http's server sets.
func serverRequest(req *http.Request) *http.Request {
	s := req.Clone(req.Context())
	// Header names arrive canonical, as net/http's server parses them.
	s.Header = make(http.Header, len(req.Header))
	for k, v := range req.Header {
		ck := http.CanonicalHeaderKey(k)
		s.Header[ck] = append(s.Header[ck], v...)
	}
	s.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	s.RequestURI = req.URL.RequestURI()
	if s.Host == "" {
		s.Host = req.URL.Host
	}
	s.RemoteAddr = "192.0.2.1:1234" // TEST-NET-1, as httptest.NewRequest
	s.Proto, s.ProtoMajor, s.ProtoMinor = "HTTP/1.1", 1, 1
	s.Body = req.Body
	if s.Body == nil {
		s.Body = http.NoBody
	}
	s.GetBody = nil
	s.Close = false
	return s
}

// result is what RoundTrip waits for: a response, an error, or a panic to
// re-raise.
type result struct {
	resp     *http.Response
	err      error
	panicked any
}

// responseWriter is the handler's http.ResponseWriter and http.Flusher.
type responseWriter struct {
	req   *http.Request
	ready chan result // gets one value
	body  *bodyPipe

	mu      sync.Mutex
	header  http.Header
	sent    bool // the response went to ready
	settled bool // ready has its value
}

func newResponseWriter(req *http.Request) *responseWriter {
	return &responseWriter{req: req, ready: make(chan result, 1), body: newBodyPipe(req.Context()), header: http.Header{}}
}

// Header returns the header map to be sent.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sends the response header with status code; later calls are
// ignored, as net/http ignores them. A 1xx code sends nothing.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("virtual: invalid WriteHeader code %v", code))
	}
	if code < 200 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sendLocked(code)
}

// sendLocked hands the response to RoundTrip. The caller holds w.mu.
func (w *responseWriter) sendLocked(code int) {
	if w.sent || w.settled {
		return
	}
	w.sent, w.settled = true, true
	h := w.header.Clone()
	cl := int64(-1)
	if v := h.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			cl = n
		}
	}
	var body io.ReadCloser = w.body
	if w.req.Method == http.MethodHead {
		body, cl = http.NoBody, 0
	}
	w.ready <- result{resp: &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: cl,
		Request:       w.req,
	}}
}

// Write sends the header (200 unless WriteHeader came first), then appends p
// to the body stream.
func (w *responseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.sendLocked(http.StatusOK)
	w.mu.Unlock()
	return w.body.write(p)
}

// Flush sends the header; the body stream needs no flushing.
func (w *responseWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sendLocked(http.StatusOK)
}

// abort turns a handler's panic into a dropped connection or a re-raised
// panic.
func (w *responseWriter) abort(v any, stack []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v == http.ErrAbortHandler {
		w.body.CloseWithError(fmt.Errorf("%w while reading the body", ErrConnectionDropped))
		if !w.settled {
			w.settled = true
			w.ready <- result{err: ErrConnectionDropped}
		}
		return
	}
	msg := fmt.Sprintf("virtual: handler for %s %s panicked: %v\n%s", w.req.Method, w.req.URL, v, stack)
	w.body.CloseWithError(errors.New(msg))
	if !w.settled {
		w.settled = true
		w.ready <- result{panicked: msg}
	}
}

// finish runs when the handler returns: it sends the header if the handler
// wrote nothing (net/http answers 200 then) and ends the body stream.
func (w *responseWriter) finish() {
	w.mu.Lock()
	w.sendLocked(http.StatusOK)
	w.mu.Unlock()
	w.body.CloseWithError(io.EOF)
}

// bodyPipe is a response body stream: writes never block (a socket buffer
// the size of the response), reads block until data arrives or the stream
// ends.
type bodyPipe struct {
	ctx    context.Context // the request's: once it ends, reads fail
	mu     sync.Mutex
	cond   *sync.Cond
	buf    bytes.Buffer
	err    error // the error reads return once buf is drained
	closed bool  // the reader closed the body; writes fail
	done   chan struct{}
}

func newBodyPipe(ctx context.Context) *bodyPipe {
	p := &bodyPipe{ctx: ctx, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// errReaderClosed is what a handler's write returns once the client closed
// the body, like a write to a closed connection.
var errReaderClosed = errors.New("virtual: client closed the response body")

func (p *bodyPipe) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errReaderClosed
	}
	if p.err != nil {
		return 0, p.err
	}
	p.buf.Write(b)
	p.cond.Broadcast()
	return len(b), nil
}

// Read reads what the handler has written, waiting for more until the
// stream ends.
func (p *bodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return 0, errors.New("virtual: read on closed response body")
		}
		if err := p.ctx.Err(); err != nil {
			return 0, err
		}
		if p.buf.Len() > 0 {
			return p.buf.Read(b)
		}
		if p.err != nil {
			return 0, p.err
		}
		p.cond.Wait()
	}
}

// Close ends reading; later handler writes fail.
func (p *bodyPipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.buf.Reset()
	p.cond.Broadcast()
	p.endLocked()
	return nil
}

// CloseWithError ends the stream: reads return err once the buffered bytes
// are read. Only the first end counts.
func (p *bodyPipe) CloseWithError(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	p.cond.Broadcast()
	p.endLocked()
}

// endLocked closes done once. The caller holds p.mu.
func (p *bodyPipe) endLocked() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

// wakeOnDone wakes a reader blocked on the stream when the request's
// context ends, so that it fails with the context's error, as a cancelled
// request's body does in net/http.
func (p *bodyPipe) wakeOnDone() {
	select {
	case <-p.ctx.Done():
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	case <-p.done:
	}
}
