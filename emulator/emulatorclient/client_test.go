package emulatorclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
)

func start(t *testing.T) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	em := emulator.New(emulator.WithAPIKey("sk_us_client_test"))
	srv := httptest.NewServer(em.Handler())
	t.Cleanup(srv.Close)
	return em, srv
}

// Every control-plane call against a running emulator, seen through the
// team API and the state it reports.
func TestClientSteersTheEmulator(t *testing.T) {
	ctx := context.Background()
	em, srv := start(t)
	c := emulatorclient.New(srv.URL+"/", emulatorclient.WithToken(em.ControlToken()))
	team := junction.NewClient(srv.URL, "sk_us_client_test")

	h, err := c.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, "ok", h.Status)
	require.False(t, h.Time.IsZero())

	// A queued failure reaches the team API, once.
	f, err := c.Fail(ctx, "create-user", http.StatusServiceUnavailable, 1)
	require.NoError(t, err)
	require.Equal(t, "create-user", f.Name)
	_, err = team.CreateUser(ctx, "alice")
	require.Error(t, err)
	u, err := team.CreateUser(ctx, "alice")
	require.NoError(t, err)

	st, err := c.State(ctx)
	require.NoError(t, err)
	require.Len(t, st.Users, 1)
	require.Equal(t, "alice", st.Users[0].ClientUserID)

	for _, call := range []func() (emulator.UserOverview, error){
		func() (emulator.UserOverview, error) { return c.RevokeRefreshTokens(ctx, u.UserID) },
		func() (emulator.UserOverview, error) { return c.ExpireAccessTokens(ctx, u.UserID) },
	} {
		ov, err := call()
		require.NoError(t, err)
		require.Equal(t, u.UserID, ov.UserID)
	}
	for _, q := range []func() (emulator.FaultOverview, error){
		func() (emulator.FaultOverview, error) { return c.Delay(ctx, "token", time.Second, 1) },
		func() (emulator.FaultOverview, error) { return c.Drop(ctx, "sign-in-token", 2) },
		func() (emulator.FaultOverview, error) { return c.RateLimit(ctx, "list-users", 30*time.Second, 3) },
	} {
		_, err := q()
		require.NoError(t, err)
	}
	st, err = c.State(ctx)
	require.NoError(t, err)
	require.Len(t, st.Faults, 3)
	left, err := c.ClearFaults(ctx)
	require.NoError(t, err)
	for _, f := range left {
		require.Empty(t, f.Outcomes, f.Name)
		require.Empty(t, f.Delays, f.Name)
	}
	st, err = c.State(ctx)
	require.NoError(t, err)
	require.Empty(t, st.Faults)

	clk, err := c.Advance(ctx, 2*time.Hour)
	require.NoError(t, err)
	require.Equal(t, "2h0m0s", clk.ClockOffset)

	del, err := c.DeleteUser(ctx, u.UserID)
	require.NoError(t, err)
	require.True(t, del.Deleted)
	back, err := c.UndoDelete(ctx, u.UserID)
	require.NoError(t, err)
	require.False(t, back.Deleted)
	after, err := c.Reset(ctx)
	require.NoError(t, err)
	require.Empty(t, after.Users)
	st, err = c.State(ctx)
	require.NoError(t, err)
	require.Empty(t, st.Users)
}

// Refusals are typed: a change without the token, a bad value, an unknown
// user; a stopped emulator says so.
func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	em, srv := start(t)
	anon := emulatorclient.New(srv.URL)
	_, err := anon.Health(ctx)
	require.NoError(t, err, "reads need no token")
	_, err = anon.Reset(ctx)
	var e *emulatorclient.Error
	require.ErrorAs(t, err, &e)
	require.ErrorIs(t, err, emulatorclient.ErrRefused)
	require.Equal(t, http.StatusForbidden, e.Status)

	c := emulatorclient.New(srv.URL, emulatorclient.WithToken(em.ControlToken()))
	_, err = c.Fail(ctx, "create-user", 200, 1)
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusBadRequest, e.Status)
	require.NotEmpty(t, e.Detail)
	_, err = c.DeleteUser(ctx, "00000000-0000-4000-8000-000000000000")
	require.ErrorAs(t, err, &e)
	require.Equal(t, http.StatusNotFound, e.Status)

	srv.Close()
	_, err = c.Health(ctx)
	require.Error(t, err)
	require.False(t, errors.Is(err, emulatorclient.ErrRefused))
	require.Contains(t, err.Error(), "is the emulator running?")
}
