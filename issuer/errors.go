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
	// signature does not verify. It matches ErrUnauthorized; the errors of
	// HMACAuthenticator are the more precise ErrMalformedSession and
	// ErrBadSignature, which match it.
	ErrInvalidSession = fmt.Errorf("%w: invalid session", ErrUnauthorized)
	// ErrMalformedSession means the credentials are not a session token of
	// the expected form: another scheme than Bearer, another version, a
	// part that is not canonical unpadded base64url, a payload that is not
	// the expected JSON, or an expiry further away than MaxSessionTTL. It
	// matches ErrInvalidSession.
	ErrMalformedSession = fmt.Errorf("%w: malformed", ErrInvalidSession)
	// ErrBadSignature means the session token is well formed but its MAC
	// does not verify: it was forged, altered or signed with another
	// secret. It matches ErrInvalidSession.
	ErrBadSignature = fmt.Errorf("%w: bad signature", ErrInvalidSession)
	// ErrSessionExpired means the session token's expiry has passed. It
	// matches ErrUnauthorized.
	ErrSessionExpired = fmt.Errorf("%w: session expired", ErrUnauthorized)
	// ErrMultipleAuthorization means the request carried more than one
	// Authorization header; none is trusted over the others. It matches
	// ErrUnauthorized.
	ErrMultipleAuthorization = fmt.Errorf("%w: more than one Authorization header", ErrUnauthorized)

	// ErrForbidden means the app user named in the call is not the
	// authenticated one (403).
	ErrForbidden = errors.New("forbidden")
	// ErrAnotherUser is the 403 of a call that names another app user than
	// the authenticated one. It matches ErrForbidden.
	ErrAnotherUser = fmt.Errorf("%w: another app user", ErrForbidden)
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

	// ErrStoreUnavailable is matched by a store's error when it cannot
	// serve now but may later: the database is down or unreachable, busy,
	// full or read-only. The handler answers it 503 store_unavailable with
	// Retry-After (StoreRetryAfter), not 500.
	ErrStoreUnavailable = errors.New("store unavailable")

	// ErrInvalidConfig means New or NewHMACAuthenticator was given an
	// unusable configuration.
	ErrInvalidConfig = errors.New("invalid issuer configuration")
	// ErrInvalidAppUser means an app user ID is empty, too long or holds
	// control characters.
	ErrInvalidAppUser = errors.New("invalid app user ID")
)

// The stable error codes of the issuer's answers: the "error" field of
// every error body, and Error.Code on the client side. Codes are part of the
// wire contract; new ones may be added, existing ones never change meaning.
const (
	CodeBadRequest        = "bad_request"                    // 400: malformed request
	CodeUnauthorized      = "unauthorized"                   // 401: an Authenticator refused without saying why
	CodeMissingCreds      = "missing_credentials"            // 401: no Authorization header
	CodeMalformedSession  = "malformed_session"              // 401: not a session token of the expected form
	CodeBadSignature      = "bad_signature"                  // 401: the session's MAC does not verify
	CodeSessionExpired    = "session_expired"                // 401: the session's expiry has passed
	CodeMultipleAuth      = "multiple_authorization_headers" // 401: more than one Authorization header
	CodeAnotherUser       = "another_user"                   // 403: the named app user is not the caller
	CodeInstallationBound = "installation_bound"             // 403: the report's installation is bound to another app user
	CodeStaleSequence     = "stale_sequence"                 // 409: the report's sequence is not above its installation's last
	CodeFutureReport      = "future_report"                  // 400: reported_at is in the future
	CodeTimeOutOfRange    = "time_out_of_range"              // 400: a time the stores cannot hold
	CodeNotFound          = "not_found"                      // 404: unknown route
	CodeMethodNotAllowed  = "method_not_allowed"             // 405: known route, wrong method
	CodeInternal          = "internal"                       // 500: the issuer failed
	CodeUpstreamError     = "upstream_error"                 // 502: the team API refused (terminal)
	CodeUpstreamDown      = "upstream_unavailable"           // 503: the team API is unavailable (transient)
	CodeUnavailable       = "unavailable"                    // 503: the request ended before it was served
	CodeStoreUnavailable  = "store_unavailable"              // 503: the database cannot serve now; retry after Retry-After
)

// codeReasons maps the codes of 401 and 403 answers to the sentinels they
// name, so that a client's errors.Is sees the same reasons the server's
// Authenticator reported.
var codeReasons = map[string]error{
	CodeMissingCreds:      ErrNoCredentials,
	CodeMalformedSession:  ErrMalformedSession,
	CodeBadSignature:      ErrBadSignature,
	CodeSessionExpired:    ErrSessionExpired,
	CodeMultipleAuth:      ErrMultipleAuthorization,
	CodeAnotherUser:       ErrAnotherUser,
	CodeInstallationBound: ErrInstallationBound,
	CodeStaleSequence:     ErrStaleSequence,
}

// Error is a failed Client call. It never holds a session or a token.
type Error struct {
	Op     string // "sign-in token" or "resolve vital user"
	Method string // the request's method, e.g. "POST"
	// URL is the request's URL without its query and user information,
	// e.g. "http://127.0.0.1:8080/v1/sign-in-token".
	URL    string
	Status int   // HTTP status; 0 when no response arrived
	Kind   error // one of the sentinels; errors.Is(err, Kind) is true
	// Code is the issuer's stable error code (one of the Code constants,
	// e.g. CodeSessionExpired), when it sent one.
	Code string
	// Reason is the sentinel Code names, for the codes of 401 and 403
	// answers (e.g. ErrSessionExpired for CodeSessionExpired); nil
	// otherwise. errors.Is(err, Reason) is true.
	Reason error
	// Message is the issuer's human-readable explanation, when it sent one,
	// with control characters removed and cut to a bounded length.
	Message    string
	RetryAfter time.Duration // from Retry-After on 503/429; 0 when not given
	Err        error         // the underlying transport or decoding error, if any
}

// Error describes the failure without any credential.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("issuer: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.URL != "" {
		if e.Method != "" {
			b.WriteString(e.Method)
			b.WriteString(" ")
		}
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "status %d: ", e.Status)
	}
	b.WriteString(e.Kind.Error())
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is e's Kind, or the reason its Code names (and
// what that reason matches, e.g. ErrInvalidSession for ErrBadSignature).
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Reason != nil && errors.Is(e.Reason, target))
}

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

// upstreamError is a terminal failure of the team API that is not an
// *junction.APIError, e.g. an answer about the wrong user.
type upstreamError struct{ msg string }

// Error describes the inconsistency.
func (e *upstreamError) Error() string { return "issuer: upstream: " + e.msg }
