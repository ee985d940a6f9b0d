package vitalsdk_test

import (
	"errors"
	"testing"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The runner classifies a Client's errors directly (reference §9).
func TestErrorsMatchReconcileClasses(t *testing.T) {
	cause := errors.New("cause")
	for kind, want := range map[error]error{
		vitalsdk.ErrAlreadySignedIn:       reconcile.ErrAlreadySignedIn,
		vitalsdk.ErrInvalidSignInToken:    reconcile.ErrInvalidSignInToken,
		vitalsdk.ErrInvalidUser:           reconcile.ErrInvalidUser,
		vitalsdk.ErrNeedsReauthentication: reconcile.ErrNeedsReauthentication,
	} {
		err := &vitalsdk.Error{Op: "sign in", Kind: kind, Err: cause}
		if !errors.Is(err, want) || !errors.Is(err, kind) || !errors.Is(err, cause) {
			t.Errorf("%v: errors.Is(err, %v) = false", err, want)
		}
	}
	if err := error(&vitalsdk.Error{Op: "refresh", Kind: vitalsdk.ErrNotConfigured}); errors.Is(err, reconcile.ErrInvalidUser) {
		t.Errorf("%v matches a class it is not", err)
	}
}
