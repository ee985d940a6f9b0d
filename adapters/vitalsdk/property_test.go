package vitalsdk_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// expectedErrors are the outcomes a random sequence of calls may meet.
var expectedErrors = []error{
	vitalsdk.ErrAlreadySignedIn, vitalsdk.ErrInvalidSignInToken, vitalsdk.ErrInvalidUser, vitalsdk.ErrNeedsReauthentication,
	vitalsdk.ErrNotConfigured, vitalsdk.ErrNotSignedIn, junction.ErrServer, junction.ErrNotFound, junction.ErrUnauthorized,
	// Android 4.2.0–4.2.2 cannot decode some token errors (reference §10.1, §10.3).
	vitalsdk.ErrUndecodableTokenError,
}

// TestPropertyPersistedStateIsAlwaysValid drives a device through random
// sequences of SDK calls, server-side deletions, revocations, faults, clock
// jumps and relaunches. After every step: the status is one the profile can
// report; token mode always has its tokens on disk; and a launch from the
// file alone (in a scratch memory store) reports what the live client reports,
// as far as the profile persists it.
func TestPropertyPersistedStateIsAlwaysValid(t *testing.T) {
	w := newWorld(t, "android-5.0")
	// The launch from the file alone runs on a memory store: the state is
	// what the live client's store holds, copied.
	scratch := memory.NewDeviceStore()
	iteration := 0

	rapid.Check(t, func(rt *rapid.T) {
		iteration++
		w.em.ClearFaults()
		p := rapid.SampledFrom(fsm.Profiles()).Draw(rt, "profile")
		opts := w.options()
		opts.Profile, opts.Installation = p, fmt.Sprintf("device-%d", iteration)
		launch := func() *vitalsdk.Client {
			c, err := vitalsdk.New(w.ctx, opts)
			require.NoError(rt, err)
			return c
		}
		c := launch()
		users := []string{w.newUser(), w.newUser()}
		deleted := map[int]bool{}
		last := fsm.State("")

		expect := func(op string, err error) {
			if err == nil {
				return
			}
			for _, k := range expectedErrors {
				if errors.Is(err, k) {
					w.requireNoSecrets(err.Error())
					return
				}
			}
			rt.Fatalf("%s: unexpected error %v", op, err)
		}
		// Mostly the first user, so that sign-in, deletion and expiry meet.
		user := func(rt *rapid.T) int { return rapid.IntRange(0, 3).Draw(rt, "user") / 3 }
		token := func(i int) (string, bool) {
			if deleted[i] {
				return "", false
			}
			return w.token(users[i]), true
		}
		ext := func(rt *rapid.T) string { return rapid.SampledFrom([]string{"app-a", "app-b"}).Draw(rt, "external") }

		rt.Repeat(map[string]func(*rapid.T){
			"configure": func(rt *rapid.T) {
				expect("configure", c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
			},
			"set user": func(rt *rapid.T) {
				expect("set user", c.SetUserID(w.ctx, users[user(rt)]))
			},
			"sign in": func(rt *rapid.T) {
				if tok, ok := token(user(rt)); ok {
					expect("sign in", c.SignIn(w.ctx, tok))
				}
			},
			"identify with token": func(rt *rapid.T) {
				if !p.HasIdentify {
					rt.Skip("no identify")
				}
				e, i := ext(rt), user(rt)
				if tok, ok := token(i); ok {
					expect("identify", c.IdentifyExternalUser(w.ctx, e, vitalsdk.SignInTokenAuth{Token: tok}))
				}
			},
			"identify with API key": func(rt *rapid.T) {
				if !p.HasIdentify {
					rt.Skip("no identify")
				}
				e, i := ext(rt), user(rt)
				expect("identify", c.IdentifyExternalUser(w.ctx, e, vitalsdk.APIKeyAuth{
					Key: w.em.APIKey(), UserID: users[i], Environment: fsm.Sandbox, Region: fsm.US}))
			},
			"sign out": func(rt *rapid.T) {
				require.NoError(rt, c.SignOut(w.ctx))
				require.Equal(rt, fsm.Status(0), c.Status())
			},
			"expire and get access token": func(rt *rapid.T) {
				w.clk.Advance(accessTTL + time.Duration(rapid.IntRange(0, 60).Draw(rt, "extra-s"))*time.Second)
				_, err := c.AccessToken(w.ctx)
				expect("access token", err)
			},
			"refresh": func(rt *rapid.T) { expect("refresh", c.Refresh(w.ctx)) },
			"get own user": func(rt *rapid.T) {
				_, err := c.GetOwnUser(w.ctx)
				if p.UnauthorizedRetryCrashes && errors.Is(err, vitalsdk.ErrProcessCrashed) {
					// Android 4.1.0–4.2.1: a 401 (an access token at its
					// expiry instant, which Android still serves and the
					// server refuses) is refreshed, and the retry kills
					// the process. The app launches again.
					c = launch()
					return
				}
				expect("get own user", err)
			},
			"delete user": func(rt *rapid.T) {
				i := user(rt)
				if !deleted[i] {
					require.NoError(rt, w.em.DeleteUser(users[i]))
					deleted[i] = true
				}
			},
			"revoke refresh tokens":   func(rt *rapid.T) { w.em.RevokeRefreshTokens(users[user(rt)]) },
			"fail next token request": func(rt *rapid.T) { w.em.FailNext(w.refreshRoute(), 1, 503) },
			"relaunch":                func(rt *rapid.T) { c = launch() },
			"": func(rt *rapid.T) {
				status := c.Status()
				state, err := fsm.Classify(status, last, p)
				require.NoError(rt, err, "status %s", status)
				last = state
				row, found, err := w.db.LoadDevice(w.ctx, opts.Installation)
				require.NoError(rt, err)
				if status.Has(fsm.FlagUseSignInToken) {
					require.True(rt, found && row.Record != nil, "token mode without a token record")
					require.NotEmpty(rt, row.Record.AccessToken)
					require.NotEmpty(rt, row.Record.RefreshToken)
				}

				// Launch from the file alone.
				if found {
					require.NoError(rt, scratch.SaveDevice(w.ctx, row))
				} else {
					require.NoError(rt, scratch.DeleteDevice(w.ctx, opts.Installation))
				}
				so := opts
				so.Store = scratch
				sc, err := vitalsdk.New(w.ctx, so)
				require.NoError(rt, err)
				_, err = fsm.Classify(sc.Status(), "", p)
				require.NoError(rt, err, "relaunch status %s", sc.Status())
				if p.ConfigurePersists || status.Has(fsm.FlagSignedIn) {
					// iOS 1.4+ persists only signed-in states (startup params).
					require.Equal(rt, status.String(), sc.Status().String(), "relaunch status")
					require.Equal(rt, c.CurrentUserID(), sc.CurrentUserID(), "relaunch user")
				}
			},
		})
	})
}
