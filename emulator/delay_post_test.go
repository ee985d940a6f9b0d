package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// A delayed POST whose client hangs up is abandoned at once: the handler
// reads the body before waiting, so net/http can notice the hang-up. Before,
// it waited out the whole delay and the server could not shut down.
func TestDelayedPostAbandonedWhenClientLeaves(t *testing.T) {
	em := emulatortest.NewEmulator()
	entered := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	em.DelayNext(emulator.RouteToken, 1, 20*time.Second) // bounded, so a regression fails instead of hanging
	ctx, cancel := context.WithCancel(context.Background())
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sent := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		sent <- err
	}()
	// Cancel once the request has reached the emulator; then the server
	// must close long before the delay ends.
	select {
	case <-entered:
	case err := <-sent:
		t.Fatalf("request finished early: %v", err)
	}
	cancel()
	require.True(t, errors.Is(<-sent, context.Canceled))
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server is still waiting out the delay of an abandoned request")
	}
}
