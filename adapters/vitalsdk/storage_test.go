package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// Every state change whose write fails returns the storage error and leaves
// both the client and the file as they were, on the error paths of a
// refresh (invalid_token, reauthentication_required) as on the happy ones.
func TestStorageFailureChangesNothing(t *testing.T) {
	type setup func(w *world) (*vitalsdk.Client, string)
	signedOut := func(w *world) (*vitalsdk.Client, string) { return w.launch(), w.newUser() }
	session := func(w *world) (*vitalsdk.Client, string) { return signedIn(w.t, w) }
	configured := func(w *world) (*vitalsdk.Client, string) {
		c := w.launch()
		require.NoError(w.t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
		return c, w.newUser()
	}
	tests := []struct {
		name  string
		setup setup
		// change runs with the database closed.
		change func(w *world, c *vitalsdk.Client, uid string) error
		// server prepares the emulator before the database is closed.
		server func(w *world, uid string)
		// Only on profiles with identify, or whose configure persists.
		hasIdentify, configurePersists bool
		// readsTokenErrors: the change writes only on profiles that read token
		// errors (DetectsDeletion).
		readsTokenErrors bool
	}{
		{name: "configure", setup: signedOut, configurePersists: true, change: func(w *world, c *vitalsdk.Client, _ string) error {
			return c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US)
		}},
		{name: "set user", setup: configured, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.SetUserID(w.ctx, uid)
		}},
		{name: "sign in", setup: signedOut, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.SignIn(w.ctx, w.token(uid))
		}},
		{name: "identify with token", setup: signedOut, hasIdentify: true, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)})
		}},
		{name: "identify with API key", setup: signedOut, hasIdentify: true, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.APIKeyAuth{Key: w.em.APIKey(), UserID: uid, Environment: fsm.Sandbox, Region: fsm.US})
		}},
		{name: "refresh", setup: session, change: func(w *world, c *vitalsdk.Client, _ string) error {
			w.expire()
			_, err := c.AccessToken(w.ctx)
			return err
		}},
		{name: "refresh: user deleted", setup: session, readsTokenErrors: true,
			server: func(w *world, uid string) { require.NoError(w.t, w.em.DeleteUser(uid)) },
			change: func(w *world, c *vitalsdk.Client, _ string) error { return c.Refresh(w.ctx) }},
		{name: "refresh: reauthentication required", setup: session, readsTokenErrors: true,
			server: func(w *world, uid string) { w.em.RevokeRefreshTokens(uid) },
			change: func(w *world, c *vitalsdk.Client, _ string) error { return c.Refresh(w.ctx) }},
		{name: "sign out", setup: session, change: func(w *world, c *vitalsdk.Client, _ string) error {
			return c.SignOut(w.ctx)
		}},
	}
	for _, p := range fsm.ProfileNames() {
		for _, tt := range tests {
			t.Run(p+"/"+tt.name, func(t *testing.T) {
				w := newWorld(t, p)
				if tt.hasIdentify && !w.profile.HasIdentify {
					t.Skip("no identify on this profile")
				}
				if tt.readsTokenErrors && !w.profile.DetectsDeletion {
					t.Skip("no write: the profile cannot read token errors (TestTokenErrorsNeverDetected)")
				}
				if tt.configurePersists && !w.profile.ConfigurePersists {
					t.Skip("configure does not write on this profile")
				}
				c, uid := tt.setup(w)
				if tt.server != nil {
					tt.server(w, uid)
				}
				before, found := w.stored()
				status, user := c.Status(), c.CurrentUserID()
				require.NoError(t, w.db.Close())

				w.requireErr(tt.change(w, c, uid), sqlite.ErrClosed)
				require.Equal(t, status, c.Status())
				require.Equal(t, user, c.CurrentUserID())

				w.open()
				after, stillFound := w.stored()
				require.Equal(t, found, stillFound)
				require.Equal(t, before, after)
			})
		}
	}
}
