package simulations

import (
	"errors"
	"net/http"
	"net/http/httptest"
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
	sreq := req.Clone(req.Context())
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "192.0.2.1:1234"
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, sreq)
	if req.Body != nil {
		req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
