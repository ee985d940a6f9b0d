package emulatorclient_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
)

// Queue sends every kind of fault; one out of range is refused before
// anything is sent, naming its field.
func TestQueueChecksFaultsBeforeSending(t *testing.T) {
	ctx := context.Background()
	em, srv := start(t)
	var sent countingTransport
	c := emulatorclient.New(srv.URL, emulatorclient.WithToken(em.ControlToken()), emulatorclient.WithHTTPClient(&http.Client{Transport: &sent}))
	for _, f := range []emulatorclient.Fault{
		{Kind: emulatorclient.FaultFail, Route: "create-user", Count: 2, Status: 503},
		{Kind: emulatorclient.FaultDelay, Route: "token", Count: 1, Delay: time.Second},
		{Kind: emulatorclient.FaultDrop, Route: "sign-in-token", Count: 1},
		{Kind: emulatorclient.FaultRateLimit, Route: "POST /v2/user", Count: 1, RetryAfter: time.Minute},
	} {
		got, err := c.Queue(ctx, f)
		require.NoError(t, err, "%+v", f)
		require.NotEmpty(t, got.Name)
	}
	require.EqualValues(t, 4, sent.n.Load())
	for field, f := range map[string]emulatorclient.Fault{
		"route":       {Kind: emulatorclient.FaultDrop, Route: "nope", Count: 1},
		"count":       {Kind: emulatorclient.FaultDrop, Route: "token", Count: 0},
		"status":      {Kind: emulatorclient.FaultFail, Route: "token", Count: 1, Status: 200},
		"delay":       {Kind: emulatorclient.FaultDelay, Route: "token", Count: 1, Delay: emulator.MaxFaultDelay + 1},
		"retry-after": {Kind: emulatorclient.FaultRateLimit, Route: "token", Count: 1, RetryAfter: -time.Second},
		"kind":        {Kind: "explode", Route: "token", Count: 1},
	} {
		_, err := c.Queue(ctx, f)
		require.ErrorIs(t, err, emulatorclient.ErrInvalid, field)
		var fe *emulatorclient.FieldError
		require.ErrorAs(t, err, &fe, field)
		require.Equal(t, field, fe.Field)
	}
	require.EqualValues(t, 4, sent.n.Load(), "nothing more was sent")
	require.ErrorIs(t, emulatorclient.CheckAdvance(0), emulatorclient.ErrInvalid)
	require.ErrorIs(t, emulatorclient.CheckAdvance(emulator.MaxAdvance+1), emulatorclient.ErrInvalid)
	require.NoError(t, emulatorclient.CheckAdvance(time.Hour))
	require.True(t, strings.Contains(emulatorclient.RouteNames(), "create-user"), emulatorclient.RouteNames())
}

// countingTransport counts the requests it sends.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// FromEnv finds the emulator and its token the way the CLI does.
func TestFromEnv(t *testing.T) {
	ctx := context.Background()
	em, srv := start(t)
	t.Setenv(emulatorclient.EnvURL, srv.URL)
	t.Setenv(emulatorclient.EnvToken, "")
	t.Setenv(emulatorclient.EnvRuntimeDir, t.TempDir())
	_, err := emulatorclient.FromEnv().Reset(ctx)
	require.ErrorIs(t, err, emulatorclient.ErrRefused, "no token set, none left")
	t.Setenv(emulatorclient.EnvToken, em.ControlToken()+"\n")
	_, err = emulatorclient.FromEnv().Reset(ctx)
	require.NoError(t, err)
}
