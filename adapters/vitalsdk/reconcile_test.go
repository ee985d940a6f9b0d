package vitalsdk

import (
	"errors"
	"testing"

	"github.com/vitalsync/vitalsync/reconcile"
)

// The runner classifies a Client's errors directly (reference §9).
func TestErrorsMatchReconcileClasses(t *testing.T) {
	cause := errors.New("cause")
	for kind, want := range map[error]error{
		ErrAlreadySignedIn:       reconcile.ErrAlreadySignedIn,
		ErrInvalidSignInToken:    reconcile.ErrInvalidSignInToken,
		ErrInvalidUser:           reconcile.ErrInvalidUser,
		ErrNeedsReauthentication: reconcile.ErrNeedsReauthentication,
	} {
		err := opError("sign in", kind, cause)
		if !errors.Is(err, want) || !errors.Is(err, kind) || !errors.Is(err, cause) {
			t.Errorf("%v: errors.Is(err, %v) = false", err, want)
		}
	}
	if err := opError("refresh", ErrNotConfigured, nil); errors.Is(err, reconcile.ErrInvalidUser) {
		t.Errorf("%v matches a class it is not", err)
	}
}
