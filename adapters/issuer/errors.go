package issuer

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. The server-side Authenticator reports credential problems
// with errors that match ErrUnauthorized; Client reports every failed call as
// an *Error whose Kind is one of the sentinels below.
var (
	// ErrUnauthorized means the caller's credentials are missing, malformed,
	// forged or expired (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNoCredentials means the request carried no bearer session. It
	// matches ErrUnauthorized.
	ErrNoCredentials = fmt.Errorf("%w: no credentials", ErrUnauthorized)
	// ErrInvalidSession means the session token is malformed or its
	// signature does not verify. It matches ErrUnauthorized.
	ErrInvalidSession = fmt.Errorf("%w: invalid session", ErrUnauthorized)
	// ErrSessionExpired means the session token's expiry has passed. It
	// matches ErrUnauthorized.
	ErrSessionExpired = fmt.Errorf("%w: session expired", ErrUnauthorized)

	// ErrForbidden means the app user named in the call is not the
	// authenticated one (403).
	ErrForbidden = errors.New("forbidden")
	// ErrBadRequest means the call itself was malformed, e.g. an empty app
	// user ID (400).
	ErrBadRequest = errors.New("bad request")
	// ErrNotFound means the route does not exist, e.g. a wrong base URL (404).
	ErrNotFound = errors.New("not found")
	// ErrMethodNotAllowed means the route exists but not for this method (405).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrUnavailable means the issuer could not reach the team API or it
	// failed transiently (503): retry, after RetryAfter when set.
	ErrUnavailable = errors.New("upstream unavailable")
	// ErrUpstream means the team API refused terminally (502): retrying the
	// same call will not help.
	ErrUpstream = errors.New("upstream error")
	// ErrServer means the issuer failed internally (500 or another status).
	ErrServer = errors.New("issuer server error")
	// ErrBadResponse means the issuer's answer could not be understood.
	ErrBadResponse = errors.New("bad response from issuer")
	// ErrTransport means the issuer could not be reached.
	ErrTransport = errors.New("issuer unreachable")

	// ErrInvalidConfig means New or NewHMACAuthenticator was given an
	// unusable configuration.
	ErrInvalidConfig = errors.New("invalid issuer configuration")
	// ErrInvalidAppUser means an app user ID is empty, too long or holds
	// control characters.
	ErrInvalidAppUser = errors.New("invalid app user ID")
)

// Error is a failed Client call. It never holds a session or a token.
type Error struct {
	Op         string        // "sign-in token" or "resolve vital user"
	Status     int           // HTTP status; 0 when no response arrived
	Kind       error         // one of the sentinels; errors.Is(err, Kind) is true
	Code       string        // the issuer's error code, e.g. "upstream_unavailable", when it sent one
	RetryAfter time.Duration // from Retry-After on 503/429; 0 when not given
	Err        error         // the underlying transport or decoding error, if any
}

// Error describes the failure without any credential.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("issuer: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "status %d: ", e.Status)
	}
	b.WriteString(e.Kind.Error())
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// RetryAfterHint returns the issuer's Retry-After (0 if none), for
// schedulers that honour it (reconcile's runner does).
func (e *Error) RetryAfterHint() time.Duration { return e.RetryAfter }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether retrying later may succeed: transport failures,
// upstream unavailability (503, 429) and other server errors except the
// terminal 502.
func (e *Error) Transient() bool {
	switch e.Kind {
	case ErrTransport, ErrUnavailable, ErrServer:
		return true
	}
	return false
}

// IsTransient reports whether err, or an error it wraps, says it is
// transient (a Transient() bool method returning true).
func IsTransient(err error) bool {
	var t interface{ Transient() bool }
	return errors.As(err, &t) && t.Transient()
}

// upstreamError is a terminal failure of the team API that is not an
// *junction.APIError, e.g. an answer about the wrong user.
type upstreamError struct{ msg string }

// Error describes the inconsistency.
func (e *upstreamError) Error() string { return "issuer: upstream: " + e.msg }
