package junction_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The clients are tested here over real HTTP against the emulator.

const apiKey = "sk_us_emulator_secret_4f1c9a7e2b"

// world is an emulator and clients for it, served in process by the test
// kit's transport or, for the tests that need the real wire, over loopback
// HTTP. Every error a test sees goes through world.check, which fails on any
// secret in its message.
type world struct {
	t     *testing.T
	stack *emulatortest.Stack
	emu   *emulator.Emulator
	url   string
	opts  []junction.Option // the HTTP client (and clock) of every client
	team  *junction.Client
	user  *junction.UserClient
	auth  *junction.AuthClient
	// secrets are the credentials and tokens handed out so far.
	secrets *emulatortest.Secrets
}

// newWorld returns a world served in process, on the stack's virtual clock.
func newWorld(t *testing.T) *world {
	t.Helper()
	s := emulatortest.NewStack(emulator.WithAPIKey(apiKey))
	return buildWorld(t, s, s.APIURL, s.AuthURL, s.JunctionOptions())
}

// newLoopbackWorld returns a world served over loopback HTTP.
func newLoopbackWorld(t *testing.T) *world {
	t.Helper()
	s := emulatortest.NewStack(emulator.WithAPIKey(apiKey))
	srv := httptest.NewServer(s.Emulator)
	t.Cleanup(srv.Close)
	// No keep-alive: a dropped connection then fails the call instead of
	// being retried by net/http on a fresh one, so fault tests are exact.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return buildWorld(t, s, srv.URL, srv.URL+"/auth", []junction.Option{junction.WithHTTPClient(hc), junction.WithClock(s.Clock.Now)})
}

func buildWorld(t *testing.T, s *emulatortest.Stack, apiURL, authURL string, opts []junction.Option) *world {
	return &world{
		t: t, stack: s, emu: s.Emulator, url: apiURL, opts: opts,
		team:    junction.NewClient(apiURL, apiKey, opts...),
		user:    junction.NewUserClient(apiURL, opts...),
		auth:    junction.NewAuthClient(authURL, opts...),
		secrets: s.Secrets,
	}
}

// keep records secrets that must never show in an error.
func (w *world) keep(secrets ...string) { w.secrets.Add(secrets...) }

// check asserts that err matches kind and carries no secret, and returns its
// *APIError (nil when it is not one).
func (w *world) check(err error, kind error) *junction.APIError {
	w.t.Helper()
	require.ErrorIs(w.t, err, kind)
	w.secrets.CheckErr(w.t, err)
	var ae *junction.APIError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// signIn creates a user and exchanges a fresh Sign-In Token for tokens.
func (w *world) signIn(ctx context.Context, clientUserID string) (junction.UserKey, junction.TokenResponse) {
	w.t.Helper()
	k, err := w.team.CreateUser(ctx, clientUserID)
	require.NoError(w.t, err)
	tr := w.exchange(ctx, k.UserID)
	return k, tr
}

// exchange mints a Sign-In Token for the user and exchanges it.
func (w *world) exchange(ctx context.Context, userID string) junction.TokenResponse {
	w.t.Helper()
	st, err := w.team.CreateSignInToken(ctx, userID)
	require.NoError(w.t, err)
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	require.NoError(w.t, err)
	tr, err := w.auth.Exchange(ctx, tok.UserToken)
	require.NoError(w.t, err)
	w.keep(st.SignInToken, tok.UserToken, tr.AccessToken, tr.RefreshToken)
	return tr
}

func TestEmulatorUserLifecycle(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)

	k, err := w.team.CreateUser(ctx, "app-user-1")
	require.NoError(t, err)
	require.Equal(t, "app-user-1", k.ClientUserID)
	require.NotEmpty(t, k.UserID)

	u, err := w.team.GetUser(ctx, k.UserID)
	require.NoError(t, err)
	require.Equal(t, k.UserID, u.UserID)
	require.Equal(t, "app-user-1", u.ClientUserID)
	require.Equal(t, w.emu.TeamID(), u.TeamID)
	require.True(t, u.CreatedOn.Equal(w.emu.Now().Truncate(time.Microsecond)), "created_on %v", u.CreatedOn)
	require.NotNil(t, u.ConnectedSources)

	r, err := w.team.ResolveUser(ctx, "app-user-1")
	require.NoError(t, err)
	require.Equal(t, u.UserID, r.UserID)
	require.True(t, u.CreatedOn.Equal(r.CreatedOn))

	// The 400 conflict names the existing user.
	w.stack.Clock.Advance(time.Minute)
	_, err = w.team.CreateUser(ctx, "app-user-1")
	ae := w.check(err, junction.ErrConflict)
	require.Equal(t, http.StatusBadRequest, ae.Status)
	require.Equal(t, k.UserID, ae.ConflictUserID)
	require.True(t, u.CreatedOn.Equal(ae.ConflictCreatedOn), "conflict created_on %v, want %v", ae.ConflictCreatedOn, u.CreatedOn)
	require.False(t, ae.Transient())

	// Pagination.
	for _, c := range []string{"app-user-2", "app-user-3"} {
		_, err := w.team.CreateUser(ctx, c)
		require.NoError(t, err)
	}
	p, err := w.team.ListUsers(ctx, 1, 1)
	require.NoError(t, err)
	require.Equal(t, 3, p.Total)
	require.Equal(t, 1, p.Offset)
	require.Equal(t, 1, p.Limit)
	require.Len(t, p.Users, 1)
	require.Equal(t, "app-user-2", p.Users[0].ClientUserID)
	p, err = w.team.ListUsers(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, p.Users, 3)

	// Delete: gone, and the client user ID is free.
	require.NoError(t, w.team.DeleteUser(ctx, k.UserID))
	_, err = w.team.GetUser(ctx, k.UserID)
	require.Equal(t, http.StatusNotFound, w.check(err, junction.ErrNotFound).Status)
	_, err = w.team.ResolveUser(ctx, "app-user-1")
	w.check(err, junction.ErrNotFound)
	w.check(w.team.DeleteUser(ctx, k.UserID), junction.ErrNotFound)

	// Undo by user ID, then by client user ID.
	require.NoError(t, w.team.UndoDeleteUser(ctx, k.UserID, ""))
	_, err = w.team.GetUser(ctx, k.UserID)
	require.NoError(t, err)
	require.NoError(t, w.team.DeleteUser(ctx, k.UserID))
	require.NoError(t, w.team.UndoDeleteUser(ctx, "", "app-user-1"))
	_, err = w.team.ResolveUser(ctx, "app-user-1")
	require.NoError(t, err)

	// A new user takes the freed client user ID; the old one can no longer
	// be restored (a 400 naming the new user).
	require.NoError(t, w.team.DeleteUser(ctx, k.UserID))
	k2, err := w.team.CreateUser(ctx, "app-user-1")
	require.NoError(t, err)
	require.NotEqual(t, k.UserID, k2.UserID)
	ae = w.check(w.team.UndoDeleteUser(ctx, k.UserID, ""), junction.ErrConflict)
	require.Equal(t, k2.UserID, ae.ConflictUserID)
	w.check(w.team.UndoDeleteUser(ctx, "", "nobody"), junction.ErrNotFound)

	// Refused before any request.
	before := w.emu.TotalRequests()
	w.check(w.team.UndoDeleteUser(ctx, "", ""), junction.ErrValidation)
	_, err = w.team.GetUser(ctx, "")
	w.check(err, junction.ErrValidation)
	require.Equal(t, before, w.emu.TotalRequests())
}

func TestEmulatorValidationAndAuth(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	k, err := w.team.CreateUser(ctx, "c1")
	require.NoError(t, err)

	// 422s.
	for _, page := range [][2]int{{-1, 10}, {0, 0}, {0, 1000}} {
		_, err := w.team.ListUsers(ctx, page[0], page[1])
		require.Equal(t, http.StatusUnprocessableEntity, w.check(err, junction.ErrValidation).Status)
	}
	_, err = w.team.GetUser(ctx, "not-a-uuid")
	require.Equal(t, http.StatusUnprocessableEntity, w.check(err, junction.ErrValidation).Status)
	_, err = w.team.CreateUser(ctx, "")
	require.Equal(t, http.StatusUnprocessableEntity, w.check(err, junction.ErrValidation).Status)

	// A wrong API key: 401 everywhere, and it never shows.
	const wrongKey = "sk_us_wrong_key_9d8e7f6a5b"
	w.keep(wrongKey)
	bad := junction.NewClient(w.url, wrongKey, w.opts...)
	calls := map[string]func() error{
		"create":  func() error { _, err := bad.CreateUser(ctx, "c2"); return err },
		"get":     func() error { _, err := bad.GetUser(ctx, k.UserID); return err },
		"resolve": func() error { _, err := bad.ResolveUser(ctx, "c1"); return err },
		"list":    func() error { _, err := bad.ListUsers(ctx, 0, 10); return err },
		"delete":  func() error { return bad.DeleteUser(ctx, k.UserID) },
		"undo":    func() error { return bad.UndoDeleteUser(ctx, k.UserID, "") },
		"token":   func() error { _, err := bad.CreateSignInToken(ctx, k.UserID); return err },
	}
	for name, call := range calls {
		ae := w.check(call(), junction.ErrUnauthorized)
		require.Equal(t, http.StatusUnauthorized, ae.Status, name)
		require.False(t, ae.Transient(), name)
	}
	_, err = w.team.GetUser(ctx, k.UserID)
	require.NoError(t, err, "the user survived the unauthorized delete")

	// The user-level client: a bad access token is 401, another user is 403.
	_, err = w.user.GetUser(ctx, "at_not_a_token", k.UserID)
	w.check(err, junction.ErrUnauthorized)
	_, tr := w.signIn(ctx, "c3")
	_, err = w.user.GetUser(ctx, tr.AccessToken, k.UserID)
	require.Equal(t, http.StatusForbidden, w.check(err, junction.ErrForbidden).Status)
}

func TestEmulatorSignInTokensAndRefresh(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	k, err := w.team.CreateUser(ctx, "app-user")
	require.NoError(t, err)

	st, err := w.team.CreateSignInToken(ctx, k.UserID)
	require.NoError(t, err)
	require.Equal(t, k.UserID, st.UserID)
	w.keep(st.SignInToken)
	for _, lenient := range []bool{false, true} {
		tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{Lenient: lenient})
		require.NoError(t, err)
		require.Equal(t, k.UserID, tok.Claims.UserID)
		require.Equal(t, w.emu.TeamID(), tok.Claims.TeamID)
		require.Equal(t, fsm.Sandbox, tok.Claims.Environment)
		require.Equal(t, fsm.US, tok.Claims.Region)
		require.Equal(t, junction.IssuerFor(fsm.Sandbox, fsm.US), tok.Claims.Issuer)
		require.True(t, tok.Claims.ExpiresAt.After(w.emu.Now()))
		require.NoError(t, junction.VerifySignInToken(tok, w.emu.PublicKey()))
	}
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	require.NoError(t, err)
	w.keep(tok.UserToken)

	// Exchange; the access token reaches the user.
	tr, err := w.auth.Exchange(ctx, tok.UserToken)
	require.NoError(t, err)
	w.keep(tr.AccessToken, tr.RefreshToken)
	require.Positive(t, tr.ExpiresIn)
	u, err := w.user.GetUser(ctx, tr.AccessToken, k.UserID)
	require.NoError(t, err)
	require.Equal(t, k.UserID, u.UserID)

	// Refresh rotates; the old refresh token is then invalid_token.
	tr2, err := w.auth.Refresh(ctx, tr.RefreshToken)
	require.NoError(t, err)
	w.keep(tr2.AccessToken, tr2.RefreshToken)
	require.NotEqual(t, tr.RefreshToken, tr2.RefreshToken)
	_, err = w.auth.Refresh(ctx, tr.RefreshToken)
	ae := w.check(err, junction.ErrInvalidToken)
	require.False(t, ae.Transient())

	// An expired access token is 401; a refresh brings a working one.
	w.stack.Clock.Advance(time.Duration(tr2.ExpiresIn)*time.Second + time.Second)
	_, err = w.user.GetUser(ctx, tr2.AccessToken, k.UserID)
	w.check(err, junction.ErrUnauthorized)
	tr3, err := w.auth.Refresh(ctx, tr2.RefreshToken)
	require.NoError(t, err)
	w.keep(tr3.AccessToken, tr3.RefreshToken)
	_, err = w.user.GetUser(ctx, tr3.AccessToken, k.UserID)
	require.NoError(t, err)

	// The Sign-In Token has expired by now (TTL 1 h): invalid_token.
	_, err = w.auth.Exchange(ctx, tok.UserToken)
	w.check(err, junction.ErrInvalidToken)

	// Garbage and forged tokens: invalid_token. Empty fields: a 400 that is
	// neither, i.e. a validation error.
	_, err = w.auth.Exchange(ctx, "not.a.jwt")
	w.check(err, junction.ErrInvalidToken)
	_, err = w.auth.Refresh(ctx, "rt_unknown")
	w.check(err, junction.ErrInvalidToken)
	_, err = w.auth.Exchange(ctx, "")
	w.check(err, junction.ErrValidation)
	_, err = w.auth.Refresh(ctx, "")
	w.check(err, junction.ErrValidation)
}

func TestEmulatorRevocationAndDeletion(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	k, tr := w.signIn(ctx, "app-user")

	// Revoked refresh tokens: reauthentication_required, until a new
	// exchange.
	w.emu.RevokeRefreshTokens(k.UserID)
	_, err := w.auth.Refresh(ctx, tr.RefreshToken)
	ae := w.check(err, junction.ErrReauthenticationRequired)
	require.False(t, ae.Transient())
	_, err = w.auth.Refresh(ctx, tr.RefreshToken)
	w.check(err, junction.ErrReauthenticationRequired)
	tr2 := w.exchange(ctx, k.UserID)
	tr3, err := w.auth.Refresh(ctx, tr2.RefreshToken)
	require.NoError(t, err)
	w.keep(tr3.AccessToken, tr3.RefreshToken)

	// A Sign-In Token minted before deletion.
	st, err := w.team.CreateSignInToken(ctx, k.UserID)
	require.NoError(t, err)
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{Lenient: true})
	require.NoError(t, err)
	w.keep(st.SignInToken, tok.UserToken)

	// The backend deletes the user: refresh says invalid_token (the SDK's
	// deletion signal), access tokens stop working, old Sign-In Tokens too.
	require.NoError(t, w.emu.DeleteUser(k.UserID))
	require.ErrorIs(t, w.emu.DeleteUser(k.UserID), emulator.ErrUserNotFound)
	_, err = w.auth.Refresh(ctx, tr3.RefreshToken)
	w.check(err, junction.ErrInvalidToken)
	_, err = w.user.GetUser(ctx, tr3.AccessToken, k.UserID)
	w.check(err, junction.ErrUnauthorized)
	_, err = w.auth.Exchange(ctx, tok.UserToken)
	w.check(err, junction.ErrInvalidToken)
	_, err = w.team.CreateSignInToken(ctx, k.UserID)
	w.check(err, junction.ErrNotFound)

	// The same through the API's DELETE.
	k2, tr4 := w.signIn(ctx, "app-user-2")
	require.NoError(t, w.team.DeleteUser(ctx, k2.UserID))
	_, err = w.auth.Refresh(ctx, tr4.RefreshToken)
	w.check(err, junction.ErrInvalidToken)
}

// call is one client call against the emulator, named by its route.
type call struct {
	route emulator.Route
	do    func(ctx context.Context) error
}

// everyCall returns one call per emulator route, each of which succeeds on a
// healthy emulator (given a user and its tokens that it may use up: the
// refresh call rotates *refresh).
func (w *world) everyCall(k junction.UserKey, refresh *string, access string) []call {
	created := 0
	return []call{
		{emulator.RouteCreateUser, func(ctx context.Context) error {
			created++
			_, err := w.team.CreateUser(ctx, "fresh-"+strconv.Itoa(created))
			return err
		}},
		{emulator.RouteListUsers, func(ctx context.Context) error { _, err := w.team.ListUsers(ctx, 0, 10); return err }},
		{emulator.RouteGetUser, func(ctx context.Context) error { _, err := w.team.GetUser(ctx, k.UserID); return err }},
		{emulator.RouteGetUser, func(ctx context.Context) error { _, err := w.user.GetUser(ctx, access, k.UserID); return err }},
		{emulator.RouteResolveUser, func(ctx context.Context) error { _, err := w.team.ResolveUser(ctx, k.ClientUserID); return err }},
		{emulator.RouteUndoDelete, func(ctx context.Context) error { return w.team.UndoDeleteUser(ctx, k.UserID, "") }},
		{emulator.RouteSignInToken, func(ctx context.Context) error {
			st, err := w.team.CreateSignInToken(ctx, k.UserID)
			w.keep(st.SignInToken)
			return err
		}},
		{emulator.RouteToken, func(ctx context.Context) error {
			tr, err := w.auth.Refresh(ctx, *refresh)
			if err == nil {
				w.keep(tr.AccessToken, tr.RefreshToken)
				*refresh = tr.RefreshToken
			}
			return err
		}},
		// Last: it deletes the user (the undo above restores nothing yet).
		{emulator.RouteDeleteUser, func(ctx context.Context) error { return w.team.DeleteUser(ctx, k.UserID) }},
	}
}

func TestEmulatorFaultKnobs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		inject     func(e *emulator.Emulator, r emulator.Route)
		kind       error
		status     int
		retryAfter time.Duration
	}{
		{"500", func(e *emulator.Emulator, r emulator.Route) { e.FailNext(r, 1, 500) }, junction.ErrServer, 500, 0},
		{"503", func(e *emulator.Emulator, r emulator.Route) { e.FailNext(r, 1, 503) }, junction.ErrServer, 503, 0},
		{"403", func(e *emulator.Emulator, r emulator.Route) { e.FailNext(r, 1, 403) }, junction.ErrForbidden, 403, 0},
		{"429", func(e *emulator.Emulator, r emulator.Route) { e.RateLimitNext(r, 1, 1500*time.Millisecond) },
			junction.ErrRateLimited, 429, 2 * time.Second},
		{"drop", func(e *emulator.Emulator, r emulator.Route) { e.DropNext(r, 1) }, junction.ErrTransport, 0, 0},
	}
	// In process, and over loopback HTTP, where a drop is a real closed
	// connection.
	worlds := map[string]func(*testing.T) *world{"in-process": newWorld, "loopback": newLoopbackWorld}
	for _, tt := range tests {
		for wname, mk := range worlds {
			t.Run(tt.name+"/"+wname, func(t *testing.T) {
				w := mk(t)
				k, tr := w.signIn(ctx, "app-user")
				refresh := tr.RefreshToken
				for _, c := range w.everyCall(k, &refresh, tr.AccessToken) {
					n := w.emu.Requests(c.route)
					users, err := w.team.ListUsers(ctx, 0, 100)
					require.NoError(t, err)

					tt.inject(w.emu, c.route)
					ae := w.check(c.do(ctx), tt.kind)
					require.NotNil(t, ae, "%s", c.route)
					require.Equal(t, tt.status, ae.Status, "%s", c.route)
					require.Equal(t, tt.retryAfter, ae.RetryAfter, "%s", c.route)
					wantTransient := tt.kind != junction.ErrForbidden
					require.Equal(t, wantTransient, reconcile.IsTransient(ae), "%s", c.route)

					// The fault changed nothing: the same call then succeeds,
					// and the user list is as before.
					after, err := w.team.ListUsers(ctx, 0, 100)
					require.NoError(t, err)
					require.Equal(t, users, after, "%s", c.route)
					require.NoError(t, c.do(ctx), "%s after the fault", c.route)
					require.GreaterOrEqual(t, w.emu.Requests(c.route), n+2, "%s", c.route)
				}
			})
		}
	}
}

func TestEmulatorDelayAndTimeouts(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	k, tr := w.signIn(ctx, "app-user")
	clk := w.stack.Clock

	// Longer than the client's timeout: a transient transport error. The
	// delay waits on the virtual clock, which does not move, so only the
	// client's (real) timeout ends the call, and the emulator abandons it.
	hasty := junction.NewUserClient(w.url, append(w.opts, junction.WithTimeout(20*time.Millisecond))...)
	w.emu.DelayNext(emulator.RouteGetUser, 1, time.Hour)
	_, err := hasty.GetUser(ctx, tr.AccessToken, k.UserID)
	ae := w.check(err, junction.ErrTransport)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, ae.Transient())
	require.Zero(t, ae.Status)
	_, err = w.user.GetUser(ctx, tr.AccessToken, k.UserID)
	require.NoError(t, err)

	// Shorter than the timeout: the call waits until the clock has moved by
	// the delay, then succeeds.
	// (The abandoned request's wait stays on the clock until it passes.)
	waiting := clk.Waiters()
	w.emu.DelayNext(emulator.RouteGetUser, 1, 5*time.Minute)
	got := make(chan error, 1)
	go func() {
		_, err := w.team.GetUser(ctx, k.UserID)
		got <- err
	}()
	waitFor(t, func() bool { return clk.Waiters() == waiting+1 })
	clk.Advance(5*time.Minute - time.Second)
	select {
	case err := <-got:
		t.Fatalf("answered before the delay ended: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	clk.Advance(time.Second)
	require.NoError(t, <-got)

	// The caller cancels while the emulator stalls: context.Canceled, not
	// transient, not an API error.
	waiting = clk.Waiters()
	w.emu.DelayNext(emulator.RouteListUsers, 1, time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		waitFor(t, func() bool { return clk.Waiters() == waiting+1 })
		cancel()
	}()
	_, err = w.team.ListUsers(cctx, 0, 10)
	w.check(err, context.Canceled)
	require.False(t, reconcile.IsTransient(err))
	var apiErr *junction.APIError
	require.False(t, errors.As(err, &apiErr))
}

// waitFor polls cond for up to 10 s: long enough for a loaded machine, short
// enough that a regression fails instead of hanging.
func waitFor(t *testing.T, cond func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Error("condition not met in 10 s")
			return
		}
		time.Sleep(time.Millisecond)
	}
}
