package issuer_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// metricsOf scrapes /metrics into "name{labels}" → value.
func (s *stack) metricsOf(t testing.TB) map[string]float64 {
	t.Helper()
	resp, body := s.raw(t, http.MethodGet, issuer.PathMetrics, "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4"), resp.Header.Get("Content-Type"))
	out := map[string]float64{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(body)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, "line %q", line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, "line %q", line)
		out[line[:i]] = v
	}
	return out
}

func decodeToken(t testing.TB, tok string) junction.Claims {
	t.Helper()
	st, err := junction.DecodeSignInToken(tok, junction.DecodeOptions{})
	require.NoError(t, err)
	return st.Claims
}

func TestFirstUseCreatesSecondReuses(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()

	v1, tok1 := s.signIn(t, "alice")
	require.Equal(t, v1, decodeToken(t, tok1).UserID)
	require.Equal(t, []string{v1}, s.usersFor(t, "alice"))
	m, ok, err := s.db.LookupUser(ctx, "alice")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, v1, m.VitalUserID)

	v2, tok2 := s.signIn(t, "alice")
	require.Equal(t, v1, v2)
	require.Equal(t, v1, decodeToken(t, tok2).UserID)
	require.Equal(t, 1, s.emu.Requests(emulator.RouteCreateUser), "second use must not create")

	got, err := s.client(t, "alice").ResolveVitalUser(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, v1, got)
	require.Equal(t, 1, s.emu.Requests(emulator.RouteCreateUser))
	require.Equal(t, 1, s.emu.Requests(emulator.RouteGetUser), "resolve checks the user still exists")

	mt := s.metricsOf(t)
	require.Equal(t, 2.0, mt["vitalsync_issuer_tokens_issued_total"])
	require.Equal(t, 1.0, mt["vitalsync_issuer_users_created_total"])
	require.Equal(t, 0.0, mt[`vitalsync_issuer_upstream_errors_total{class="transient"}`])
	require.Equal(t, 2.0, mt[`vitalsync_issuer_request_duration_seconds_count{code="200",route="/v1/sign-in-token"}`])
	require.Equal(t, 1.0, mt[`vitalsync_issuer_request_duration_seconds_bucket{code="200",route="/v1/vital-user",le="+Inf"}`])
}

func TestResolveCreatesMappingWithoutToken(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	v, err := s.client(t, "bob").ResolveVitalUser(ctx, "bob")
	require.NoError(t, err)
	require.Equal(t, []string{v}, s.usersFor(t, "bob"))
	require.Zero(t, s.emu.Requests(emulator.RouteSignInToken))
	require.Zero(t, s.emu.Requests(emulator.RouteGetUser), "a user created by this request is not fetched again")

	v2, _ := s.signIn(t, "bob")
	require.Equal(t, v, v2)
	require.Equal(t, 1, s.emu.Requests(emulator.RouteCreateUser))
}

func TestConflictAdoptsExistingUser(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	key, err := s.team.CreateUser(ctx, "carol") // created outside the issuer
	require.NoError(t, err)

	v, tok := s.signIn(t, "carol")
	require.Equal(t, key.UserID, v)
	require.Equal(t, key.UserID, decodeToken(t, tok).UserID)
	require.Equal(t, []string{key.UserID}, s.usersFor(t, "carol"))
	hist, err := s.db.UserHistory(ctx, "carol")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, key.UserID, hist[0].VitalUserID)

	mt := s.metricsOf(t)
	require.Equal(t, 0.0, mt["vitalsync_issuer_users_created_total"])
	require.Equal(t, 1.0, mt["vitalsync_issuer_users_adopted_total"])
}

// anonymousConflict hides the conflicting user's ID, as an API whose 400
// body lacks it would.
type anonymousConflict struct{ issuer.TeamAPI }

func (a anonymousConflict) CreateUser(ctx context.Context, cuid string) (junction.UserKey, error) {
	k, err := a.TeamAPI.CreateUser(ctx, cuid)
	var ae *junction.APIError
	if errors.As(err, &ae) && ae.Kind == junction.ErrConflict {
		return k, &junction.APIError{Op: ae.Op, Status: ae.Status, Kind: junction.ErrConflict}
	}
	return k, err
}

func TestConflictWithoutUserIDResolves(t *testing.T) {
	s := newStack(t, stackOptions{wrapTeam: func(t issuer.TeamAPI) issuer.TeamAPI { return anonymousConflict{t} }})
	ctx := context.Background()
	key, err := s.team.CreateUser(ctx, "carol")
	require.NoError(t, err)
	v, _ := s.signIn(t, "carol")
	require.Equal(t, key.UserID, v)
	require.Equal(t, 1, s.emu.Requests(emulator.RouteResolveUser))
}

func TestDeletedUserReplacedKeepingHistory(t *testing.T) {
	for _, via := range []string{"token", "resolve"} {
		t.Run(via, func(t *testing.T) {
			s := newStack(t, stackOptions{})
			ctx := context.Background()
			old, _ := s.signIn(t, "dave")
			require.NoError(t, s.emu.DeleteUser(old))

			var fresh string
			if via == "token" {
				var tok string
				fresh, tok = s.signIn(t, "dave")
				require.Equal(t, fresh, decodeToken(t, tok).UserID)
			} else {
				var err error
				fresh, err = s.client(t, "dave").ResolveVitalUser(ctx, "dave")
				require.NoError(t, err)
			}
			require.NotEqual(t, old, fresh)
			require.Equal(t, []string{fresh}, s.usersFor(t, "dave"))

			hist, err := s.db.UserHistory(ctx, "dave")
			require.NoError(t, err)
			require.Len(t, hist, 2)
			require.Equal(t, old, hist[0].VitalUserID)
			require.NotNil(t, hist[0].DeletedAt, "the old mapping is kept as deleted history")
			require.Equal(t, fresh, hist[1].VitalUserID)
			require.Nil(t, hist[1].DeletedAt)

			// And it sticks.
			again, _ := s.signIn(t, "dave")
			require.Equal(t, fresh, again)
			require.Equal(t, 1.0, s.metricsOf(t)["vitalsync_issuer_users_replaced_total"])
		})
	}
}

// retiredElsewhere is a store in which another replica retires the mapping
// just before this one tries to.
type retiredElsewhere struct{ issuer.UserStore }

func (r retiredElsewhere) MarkUserDeleted(ctx context.Context, app, v string) error {
	if err := r.UserStore.MarkUserDeleted(ctx, app, v); err != nil {
		return err
	}
	return r.UserStore.MarkUserDeleted(ctx, app, v)
}

func TestDeletedUserRetiredByAnotherReplica(t *testing.T) {
	s := newStack(t, stackOptions{wrapDB: func(u issuer.UserStore) issuer.UserStore { return retiredElsewhere{u} }})
	ctx := context.Background()
	old, _ := s.signIn(t, "dora")
	require.NoError(t, s.emu.DeleteUser(old))

	// The mark finds the mapping already retired (issuer.ErrMappingInactive) and no
	// replacement mapped yet: this request maps one instead of failing.
	fresh, tok := s.signIn(t, "dora")
	require.NotEqual(t, old, fresh)
	require.Equal(t, fresh, decodeToken(t, tok).UserID)
	require.Equal(t, []string{fresh}, s.usersFor(t, "dora"))
	hist, err := s.db.UserHistory(ctx, "dora")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.NotNil(t, hist[0].DeletedAt)
	require.Nil(t, hist[1].DeletedAt)
}

func TestTransientUpstreamRecordsNothing(t *testing.T) {
	type tc struct {
		name      string
		fault     func(e *emulator.Emulator)
		resolve   bool
		retry     time.Duration
		preCreate bool // map the user first
	}
	cases := []tc{
		{name: "create 503", fault: func(e *emulator.Emulator) { e.FailNext(emulator.RouteCreateUser, 1, 503) }},
		{name: "create 500", fault: func(e *emulator.Emulator) { e.FailNext(emulator.RouteCreateUser, 1, 500) }},
		{name: "create dropped", fault: func(e *emulator.Emulator) { e.DropNext(emulator.RouteCreateUser, 1) }},
		{name: "create 429", fault: func(e *emulator.Emulator) { e.RateLimitNext(emulator.RouteCreateUser, 1, 7*time.Second) }, retry: 7 * time.Second},
		{name: "resolve create 503", resolve: true, fault: func(e *emulator.Emulator) { e.FailNext(emulator.RouteCreateUser, 1, 503) }},
		{name: "mint 503", preCreate: true, fault: func(e *emulator.Emulator) { e.FailNext(emulator.RouteSignInToken, 1, 503) }},
		{name: "mint dropped", preCreate: true, fault: func(e *emulator.Emulator) { e.DropNext(emulator.RouteSignInToken, 1) }},
		{name: "mint 429", preCreate: true, fault: func(e *emulator.Emulator) { e.RateLimitNext(emulator.RouteSignInToken, 1, 2*time.Second) }, retry: 2 * time.Second},
		// (Not DropNext: net/http replays an idempotent GET once on a reused
		// connection that closes, so a single drop is invisible.)
		{name: "get user 502", preCreate: true, resolve: true, fault: func(e *emulator.Emulator) { e.FailNext(emulator.RouteGetUser, 1, 502) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t, stackOptions{})
			ctx := context.Background()
			cl := s.client(t, "erin")
			before := []issuer.Mapping{}
			if c.preCreate {
				s.signIn(t, "erin")
				var err error
				before, err = s.db.UserHistory(ctx, "erin")
				require.NoError(t, err)
			}
			c.fault(s.emu)
			var err error
			if c.resolve {
				_, err = cl.ResolveVitalUser(ctx, "erin")
			} else {
				var tok string
				_, tok, err = cl.SignInToken(ctx, "erin")
				require.Empty(t, tok)
			}
			require.ErrorIs(t, err, issuer.ErrUnavailable)
			require.True(t, reconcile.IsTransient(err))
			var ie *issuer.Error
			require.ErrorAs(t, err, &ie)
			require.Equal(t, http.StatusServiceUnavailable, ie.Status)
			require.Equal(t, issuer.CodeUpstreamDown, ie.Code)
			require.Equal(t, c.retry, ie.RetryAfter)

			after, err := s.db.UserHistory(ctx, "erin")
			require.NoError(t, err)
			require.Equal(t, before, after, "a transient failure must not change the user map")
			require.Equal(t, 1.0, s.metricsOf(t)[`vitalsync_issuer_upstream_errors_total{class="transient"}`])

			// The next request succeeds with exactly one Vital user.
			v, _ := s.signIn(t, "erin")
			require.Equal(t, []string{v}, s.usersFor(t, "erin"))
			if c.preCreate {
				require.Equal(t, before[0].VitalUserID, v)
			}
		})
	}
}

func TestTransientDuringReplacement(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	old, _ := s.signIn(t, "ivy")
	require.NoError(t, s.emu.DeleteUser(old))
	s.emu.FailNext(emulator.RouteCreateUser, 1, http.StatusServiceUnavailable)
	_, _, err := s.client(t, "ivy").SignInToken(ctx, "ivy")
	require.ErrorIs(t, err, issuer.ErrUnavailable)

	// The deleted user is retired (true), nothing new is mapped (nothing
	// was created).
	_, ok, err := s.db.LookupUser(ctx, "ivy")
	require.NoError(t, err)
	require.False(t, ok)
	hist, err := s.db.UserHistory(ctx, "ivy")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.NotNil(t, hist[0].DeletedAt)

	fresh, _ := s.signIn(t, "ivy")
	require.NotEqual(t, old, fresh)
	require.Equal(t, []string{fresh}, s.usersFor(t, "ivy"))
}

func TestTerminalUpstreamIs502(t *testing.T) {
	t.Run("create refused", func(t *testing.T) {
		s := newStack(t, stackOptions{})
		s.emu.FailNext(emulator.RouteCreateUser, 1, http.StatusUnprocessableEntity)
		_, _, err := s.client(t, "fay").SignInToken(context.Background(), "fay")
		require.ErrorIs(t, err, issuer.ErrUpstream)
		require.False(t, reconcile.IsTransient(err))
		_, ok, lerr := s.db.LookupUser(context.Background(), "fay")
		require.NoError(t, lerr)
		require.False(t, ok)
		require.Equal(t, 1.0, s.metricsOf(t)[`vitalsync_issuer_upstream_errors_total{class="terminal"}`])
	})
	t.Run("wrong API key", func(t *testing.T) {
		s := newStack(t, stackOptions{issuerKey: "sk_us_wrong_key_5e1d"})
		s.secrets.Add("sk_us_wrong_key_5e1d")
		_, err := s.client(t, "fay").ResolveVitalUser(context.Background(), "fay")
		require.ErrorIs(t, err, issuer.ErrUpstream)
		require.Equal(t, 1, s.emu.Requests(emulator.RouteCreateUser))
		require.Empty(t, s.usersFor(t, "fay"))
	})
	t.Run("fresh user gone at once", func(t *testing.T) {
		s := newStack(t, stackOptions{})
		require.Len(t, s.signInGone(t, "gus", 1), 1, "no replacement loop for a user created by this request")
	})
	t.Run("replacement gone too", func(t *testing.T) {
		s := newStack(t, stackOptions{})
		v, _ := s.signIn(t, "hal")
		require.Len(t, s.signInGone(t, "hal", 2), 2, "one replacement per request, no more")
		// The user was never really deleted: the replacement adopted it
		// through the conflict, so the app keeps its Vital user.
		again, _ := s.signIn(t, "hal")
		require.Equal(t, v, again)
		require.Equal(t, []string{v}, s.usersFor(t, "hal"))
	})
}

func TestUpstreamBodiesNeverRelayed(t *testing.T) {
	const marker = "upstream-internal-detail-5b0c"
	for _, status := range []int{400, 401, 403, 404, 422, 429, 500, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Debug", marker)
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"detail":{"error_type":"` + marker + `","error_message":"` + marker + `"}}`))
			}))
			defer upstream.Close()
			s := newStack(t, stackOptions{teamURL: upstream.URL, logLevel: slog.LevelDebug})
			for _, call := range []func() error{
				func() error { _, _, err := s.client(t, "kim").SignInToken(context.Background(), "kim"); return err },
				func() error { _, err := s.client(t, "kim").ResolveVitalUser(context.Background(), "kim"); return err },
			} {
				err := call()
				require.Error(t, err)
				if reconcile.IsTransient(&junction.APIError{Kind: kindOfStatus(status)}) {
					require.ErrorIs(t, err, issuer.ErrUnavailable)
				} else {
					require.ErrorIs(t, err, issuer.ErrUpstream)
				}
			}
			for _, r := range s.rec.list() {
				require.NotContains(t, r.headers+string(r.body), marker)
			}
			require.NotContains(t, s.logs.String(), marker)
		})
	}
}

// kindOfStatus is the junction error kind of a status, for the expectations
// above.
func kindOfStatus(status int) error {
	switch {
	case status == 429:
		return junction.ErrRateLimited
	case status >= 500:
		return junction.ErrServer
	}
	return junction.ErrValidation
}

// signInGone asks a token for app while the emulator answers the next
// `gone` token requests 404 (the user was deleted), holds that the issuer
// fails upstream, and returns app's mapping history.
func (s *stack) signInGone(t *testing.T, app string, gone int) []issuer.Mapping {
	t.Helper()
	s.emu.FailNext(emulator.RouteSignInToken, gone, http.StatusNotFound)
	_, _, err := s.client(t, app).SignInToken(context.Background(), app)
	require.ErrorIs(t, err, issuer.ErrUpstream)
	hist, err := s.db.UserHistory(context.Background(), app)
	require.NoError(t, err)
	return hist
}
