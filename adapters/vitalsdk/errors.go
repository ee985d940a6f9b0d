package vitalsdk

import (
	"errors"
	"strings"

	"github.com/vitalsync/vitalsync/reconcile"
)

// The SDK's error kinds. A Client returns them wrapped in an *Error; test for
// them with errors.Is. The four errors of reference §9 are reconcile's
// SDKError values themselves, so the launch runner and every other caller
// match the same value (the names follow the SDKs' error cases,
// VitalJWTSignInError and VitalJWTAuthError, reference §2.2, §2.5 and §3).
var (
	// ErrAlreadySignedIn: SignIn found a token session that the profile does
	// not let it replace (a different user; on some profiles the same user
	// too). Sign out first.
	ErrAlreadySignedIn error = reconcile.ErrAlreadySignedIn
	// ErrInvalidSignInToken: the auth server rejected the Sign-In Token
	// (invalid_token), or a pending session belongs to a different user.
	// Fetch a fresh token.
	ErrInvalidSignInToken error = reconcile.ErrInvalidSignInToken
	// ErrInvalidUser: a refresh said invalid_token, so the session's Vital
	// user was deleted or disabled. The token record is gone.
	ErrInvalidUser error = reconcile.ErrInvalidUser
	// ErrNeedsReauthentication: the refresh token was revoked
	// (reauthentication_required). Sign in again with a token for the same
	// user.
	ErrNeedsReauthentication error = reconcile.ErrNeedsReauthentication
	// ErrMalformedSignInToken: the Sign-In Token does not decode (not base64,
	// not the JSON envelope, a JWT without tenant_id, an issuer the
	// platform does not know): the SDKs throw DecodingError (iOS) or
	// IllegalArgumentException (Android) before any network call, not
	// invalidSignInToken (reference §10.2). It is not transient; the token,
	// not the session, is at fault.
	ErrMalformedSignInToken = errors.New("malformed sign-in token")
	// ErrUndecodableTokenError: the SDK could not decode the token
	// endpoint's 4xx error body and threw before touching its state
	// (Android 4.2.1–4.2.2 decode {"details":{"errorType":…}} with a
	// non-null assertion; the server sends {"detail":{"error_type":…}};
	// reference §10.1), and Android 4.2.0's decoding of a legacy Secure
	// Token error of another shape (§10.3). Nothing changed: the session
	// stays signed in as before, and a retry fails the same way. It is not
	// transient. It is reconcile's refreshFailed: recorded for the launch,
	// it tells the planner the session is dead.
	ErrUndecodableTokenError error = reconcile.ErrRefreshFailed
	// ErrKeychainLocked: the iOS keychain cannot be read before the
	// device's first unlock (VitalKeychainError.interactionNotAllowed,
	// reference §10.6). It is transient (reconcile.IsTransient): nothing
	// changed, and the same call succeeds once protected data is available
	// (Client.Unlock). Never sign out on it.
	ErrKeychainLocked error = keychainLockedError{}
	// ErrProcessCrashed: the SDK crashed the app's process. Android
	// 4.1.0–4.2.1 retry a data call after a 401's refresh without closing
	// the 401 response, and OkHttp's IllegalStateException kills the
	// process (fsm.Profile.UnauthorizedRetryCrashes). The refresh's outcome
	// was stored before the crash. The process is gone: the Client refuses
	// every later call with ErrProcessCrashed until the app is launched
	// again (New). It is not transient within the process.
	ErrProcessCrashed = errors.New("the app process crashed")
	// ErrNotConfigured: the SDK has no configuration.
	ErrNotConfigured = errors.New("not configured")
	// ErrNotSignedIn: the operation needs a user session (a token session for
	// AccessToken and Refresh) and there is none. It is reconcile's
	// notSignedIn: recorded for the launch, it tells a status that shows a
	// session without a record behind it (§10.7).
	ErrNotSignedIn error = reconcile.ErrNotSignedIn
	// ErrUnsupported: the profile does not have the operation (for example
	// IdentifyExternalUser before iOS 1.4 / Android 4.1).
	ErrUnsupported = errors.New("unsupported on this profile")
	// ErrInvalidArgument: a caller-supplied value is unusable (an empty API
	// key, an unknown environment, a user ID that is not a UUID on iOS).
	ErrInvalidArgument = errors.New("invalid argument")
)

// Error is the error a Client returns. Kind is one of the package's
// sentinels, or nil when the cause alone says what happened (a transport
// error, a 5xx); Err is the cause, or nil. errors.Is and errors.As see
// both, so errors.Is(err, ErrInvalidSignInToken) and
// reconcile.IsTransient(err) both work on the same value.
//
// Error strings never contain secrets: the causes come from the junction
// adapter and the Store, which keep tokens and keys out of their messages.
type Error struct {
	Op   string // "sign in", "refresh", "identify", …
	Kind error
	Err  error
}

// Error formats "vitalsdk: op: kind: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("vitalsdk: ")
	b.WriteString(e.Op)
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause, whichever are set.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func opError(op string, kind, err error) error { return &Error{Op: op, Kind: kind, Err: err} }

// keychainLockedError is ErrKeychainLocked: transient in the reconcile
// protocol.
type keychainLockedError struct{}

func (keychainLockedError) Error() string { return "keychain locked (interactionNotAllowed)" }

// Transient reports true: the keychain opens at the first unlock.
func (keychainLockedError) Transient() bool { return true }
