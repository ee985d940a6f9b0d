package simulations

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// syncTransport serves each request with its host's handler in the
// caller's goroutine, to completion, before it returns the response: the
// simulator stays a single goroutine, and no scheduler decides any order.
// (virtual.Transport streams bodies from a goroutine per request, for
// tests of hang-ups and drops; the world has its own faults, in faultNet.)
type syncTransport struct {
	hosts map[string]http.Handler
}

// errUnknownHost is a request to a host the world does not serve.
var errUnknownHost = errors.New("simulations: no handler for host")

// handle serves h at host and returns its base URL.
func (t *syncTransport) handle(host string, h http.Handler) string {
	if t.hosts == nil {
		t.hosts = map[string]http.Handler{}
	}
	t.hosts[host] = h
	return "http://" + host
}

func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.hosts[strings.ToLower(req.URL.Host)]
	if h == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errUnknownHost
	}
	if err := req.Context().Err(); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// The handler's request is a shallow copy: the world's handlers (the
	// emulator's, the issuer's) only read a request's header and URL, and
	// the copy is theirs alone once RoundTrip returns, so neither needs
	// the deep copy of req.Clone.
	sreq := new(http.Request)
	*sreq = *req
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "192.0.2.1:1234"
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	var rec recorder
	h.ServeHTTP(&rec, sreq)
	if req.Body != nil {
		req.Body.Close()
	}
	resp := rec.result()
	resp.Request = req
	return resp, nil
}

// recorder is the handlers' http.ResponseWriter and http.Flusher: it keeps
// the answer in memory, as httptest.ResponseRecorder does and with its
// semantics (the header as it was when the status was written, a
// Content-Type sniffed from the first write when the handler set none, 200
// when the handler wrote nothing), without its copies.
type recorder struct {
	code int
	// header is the map Header returns; sent, the header as the status was
	// written (header is a fresh map after that: later changes go nowhere,
	// as on a server).
	header, sent http.Header
	wrote        bool
	body         bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

func (r *recorder) WriteHeader(code int) {
	if r.wrote {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	r.code, r.wrote = code, true
	r.sent = r.Header()
	r.header = nil
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		h := r.Header()
		if _, ok := h["Content-Type"]; !ok && h.Get("Transfer-Encoding") == "" {
			h.Set("Content-Type", http.DetectContentType(b))
		}
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	if r.code >= 100 && r.code <= 199 || r.code == http.StatusNoContent || r.code == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed
	}
	return len(b), nil
}

func (r *recorder) Flush() { r.WriteHeader(http.StatusOK) }

// result is the client's response.
func (r *recorder) result() *http.Response {
	h := r.sent
	if !r.wrote {
		h = r.header // nil if the handler never asked for it, as httptest's
	}
	code := r.code
	if code == 0 {
		code = http.StatusOK
	}
	cl := int64(-1)
	if v := strings.TrimSpace(h.Get("Content-Length")); v != "" {
		if n, err := strconv.ParseUint(v, 10, 63); err == nil {
			cl = int64(n)
		}
	}
	return &http.Response{Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(r.body.Bytes())), ContentLength: cl}
}
