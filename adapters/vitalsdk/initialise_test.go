package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// TestStatusBeforeTheClientExists is reference §10.11: on Android the
// status is {} until the client is created in the process. A launch task
// that read it first would see "signed out", plan a sign-in, meet
// alreadySignedIn, and tear a good session down; after Initialise the
// status is right. iOS is unaffected.
func TestStatusBeforeTheClientExists(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, uid := signedIn(t, w)
			status, user := c.Status(), c.CurrentUserID()
			o := w.options()
			o.DeferCreate = true
			c, err := vitalsdk.New(w.ctx, o)
			require.NoError(t, err)
			if c.Profile().Platform == fsm.IOS {
				require.Equal(t, status, c.Status())
				return
			}
			requireState(t, c, "", 0, "", fsm.SignedOut)
			c.Initialise()
			require.Equal(t, status, c.Status())
			require.Equal(t, user, c.CurrentUserID())

			// What reading first would have led to: a sign-in that throws.
			c, err = vitalsdk.New(w.ctx, o)
			require.NoError(t, err)
			require.Equal(t, fsm.Status(0), c.Status(), "reads signed out")
			w.requireErr(c.SignIn(w.ctx, w.token(uid)), vitalsdk.ErrAlreadySignedIn)
			require.Equal(t, status, c.Status(), "the call created the client: the session was there all along")
		})
	}
}
