package issuer

import "context"

// Internals for the package's external tests.

type (
	ErrorBody       = errorBody
	SignInTokenBody = signInTokenBody
)

// MaxBody is the largest request body the Handler reads.
const MaxBody = maxBody

// MAC is the session signature of msg under secret.
func MAC(secret []byte, msg string) []byte { return mac(secret, msg) }

// LockUser takes h's in-process lock of app, as a request in progress
// holds it.
func LockUser(ctx context.Context, h *Handler, app string) (unlock func(), err error) {
	return h.locks.lock(ctx, app)
}

// LockedUsers returns the number of per-user locks h holds.
func LockedUsers(h *Handler) int { return h.locks.size() }

// MaxMessageLen bounds the server message a client error keeps.
const MaxMessageLen = maxMessageLen
