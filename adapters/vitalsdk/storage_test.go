package vitalsdk

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/fsm"
)

// When the database refuses a write, the in-memory state does not move
// ahead of the file: the status stays what the file says.
func TestStorageFailureLeavesMemoryBehindDisk(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, uid := signedIn(t, w)
			other := w.token(w.newUser())
			status, user := c.Status(), c.CurrentUserID()
			require.NoError(t, w.db.Close())

			w.expire()
			_, err := c.AccessToken(w.ctx)
			w.requireErr(err, sqlite.ErrClosed)
			w.requireErr(c.SignOut(w.ctx), sqlite.ErrClosed)
			if c.Profile().HasIdentify {
				w.requireErr(c.IdentifyExternalUser(w.ctx, "app-b", SignInTokenAuth{Token: other}), sqlite.ErrClosed)
			}
			require.Equal(t, status, c.Status())
			require.Equal(t, user, c.CurrentUserID())

			// The file still holds the session the memory shows.
			w.open()
			c = w.launch()
			require.Equal(t, signedInToken, c.Status())
			require.True(t, strings.EqualFold(uid, c.CurrentUserID()))
		})
	}
}

func TestConfigureStorageFailure(t *testing.T) {
	w := newWorld(t, "android-5.0")
	c := w.launch()
	require.NoError(t, w.db.Close())
	w.requireErr(c.Configure(w.ctx, "sk_us_x", fsm.Sandbox, fsm.US), sqlite.ErrClosed)
	w.requireErr(c.SetUserID(w.ctx, "user-1"), sqlite.ErrClosed)
	require.Equal(t, fsm.Status(0), c.Status())
	w.open()
}
