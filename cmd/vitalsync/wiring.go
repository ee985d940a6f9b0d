package main

import (
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The concrete adapters implement the interfaces their consumers declare:
// the runner's, the SDK's store and the issuer's user map.
var (
	_ reconcile.SDK         = (*vitalsdk.Client)(nil)
	_ reconcile.Identifier  = (*vitalsdk.Client)(nil)
	_ reconcile.TokenSource = (*issuer.Client)(nil)
	_ reconcile.Journal     = (*sqlite.Journal)(nil)
	_ vitalsdk.Store        = (*sqlite.DB)(nil)
	_ issuer.UserStore      = (*sqlite.DB)(nil)
)

// countingTransport counts the HTTP requests a launch sends.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

func newCountingClient() (*http.Client, *countingTransport) {
	t := &countingTransport{next: http.DefaultTransport}
	return &http.Client{Transport: t}, t
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
