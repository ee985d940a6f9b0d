package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SDKError is one of the Vital SDK errors of reference §9, by the stable
// name the SDKs give it. It is the one vocabulary for SDK errors: it is an
// error, SDK adapters wrap it, errors.Is matches it everywhere, the journal
// persists it by name (its last_error column) and the planner reads it.
type SDKError string

// The SDK errors. NoSDKError is the absence of one.
const (
	NoSDKError SDKError = ""
	// ErrAlreadySignedIn: signIn found a session; sign out, then sign in.
	ErrAlreadySignedIn SDKError = "alreadySignedIn"
	// ErrInvalidSignInToken: the Sign-In Token was refused; a fresh one may
	// pass.
	ErrInvalidSignInToken SDKError = "invalidSignInToken"
	// ErrInvalidUser: the SDK's Vital user is gone (a refresh said
	// invalid_token).
	ErrInvalidUser SDKError = "invalidUser"
	// ErrNeedsReauthentication: the session needs a same-user token (a
	// refresh said reauthentication_required).
	ErrNeedsReauthentication SDKError = "needsReauthentication"
	// ErrNotSignedIn: the SDK's status shows a session but its calls find no
	// record (iOS 1.4+ after a crash inside the asynchronous auto sign-out,
	// §10.7): sign out, then sign in.
	ErrNotSignedIn SDKError = "notSignedIn"
	// ErrRefreshFailed: the SDK's token call fails and the SDK cannot say
	// why (Android 4.2.1–4.2.2 cannot decode the token endpoint's error
	// body, §10.1): the session is dead, its user deleted or its refresh
	// token revoked. Sign out, sign in.
	ErrRefreshFailed SDKError = "refreshFailed"
	// ErrNetwork: a transient failure (network, 5xx, 429); the runner backs
	// off.
	ErrNetwork SDKError = "network"
	// ErrUnknown: any other failure, the token source's included. The planner
	// has no rule for it: the launch ends terminal.
	ErrUnknown SDKError = "unknown"
)

// Error returns the SDK's name of the error.
func (e SDKError) Error() string { return "sdk: " + string(e) }

// SDKErrors returns every SDK error name, NoSDKError first.
func SDKErrors() []SDKError {
	return []SDKError{NoSDKError, ErrAlreadySignedIn, ErrInvalidSignInToken, ErrInvalidUser,
		ErrNeedsReauthentication, ErrNotSignedIn, ErrRefreshFailed, ErrNetwork, ErrUnknown}
}

// ParseSDKError parses an SDK error name ("" is NoSDKError).
func ParseSDKError(s string) (SDKError, bool) {
	for _, e := range SDKErrors() {
		if string(e) == s {
			return e, true
		}
	}
	return "", false
}

// IsTransient reports whether err is worth retrying later (network, 5xx,
// 429). It is the one test of the one protocol every adapter speaks: an
// error in err's chain with a Transient() bool method that returns true is
// transient, and a RetryAfterHint() time.Duration method in the chain
// supplies the server's Retry-After (RetryAfter).
func IsTransient(err error) bool {
	var tr interface{ Transient() bool }
	return errors.As(err, &tr) && tr.Transient()
}

// RetryAfter returns the Retry-After a transient err carries, or 0.
func RetryAfter(err error) time.Duration {
	var hint interface{ RetryAfterHint() time.Duration }
	if IsTransient(err) && errors.As(err, &hint) {
		return hint.RetryAfterHint()
	}
	return 0
}

// ErrorClass says what a failed action means for the launch.
type ErrorClass string

// The error classes.
const (
	// ClassTransient: the state is kept and the next attempt scheduled with
	// backoff (persisted); the planner defers network work until then.
	ClassTransient ErrorClass = "transient"
	// ClassTerminal: an SDK or token source error that retrying later will
	// not fix by itself. The planner decides whether a rule recovers from it
	// (a sign-out after alreadySignedIn, a fresh token after
	// invalidSignInToken); where none does, the launch ends terminal and is
	// not retried with backoff.
	ClassTerminal ErrorClass = "terminal"
	// ClassCancelled: the context ended the launch; the next launch
	// reconciles from what it left.
	ClassCancelled ErrorClass = "cancelled"
	// ClassStale marks a step that was not applied because its token
	// carried another Vital user than the action named (the app user's
	// Vital user was replaced). It is no error class: nothing failed, the
	// journal records the token source's user, and the next pass plans from
	// it (Observation.IssuedVitalUserID, UnusedToken).
	ClassStale ErrorClass = "stale"
)

// classify maps an action's error to its class, its SDK error name and the
// server's Retry-After. It is the only place the runner looks at an error.
func classify(ctx context.Context, err error) (ErrorClass, SDKError, time.Duration) {
	var sdkErr SDKError
	switch {
	case err == nil:
		return "", NoSDKError, 0
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return ClassCancelled, NoSDKError, 0
	}
	if IsTransient(err) {
		return ClassTransient, ErrNetwork, RetryAfter(err)
	}
	if errors.As(err, &sdkErr) && sdkErr != NoSDKError && sdkErr != ErrNetwork {
		return ClassTerminal, sdkErr, 0
	}
	return ClassTerminal, ErrUnknown, 0
}

// RunError is a launch that did not reach agreement: the action that failed
// last, its class, and when the next attempt is due.
type RunError struct {
	Action  Action
	Class   ErrorClass
	RetryAt time.Time
	Err     error
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("%s failed (%s)", actionString(e.Action), e.Class)
	if !e.RetryAt.IsZero() {
		s += ", next attempt at " + e.RetryAt.UTC().Format(time.RFC3339)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *RunError) Unwrap() error { return e.Err }

// ErrNoConvergence is returned when a launch used MaxPasses passes without
// reaching agreement; the planner's tests prove a fault-free world never
// does.
var ErrNoConvergence = errors.New("reconcile: no agreement within the pass bound")

func actionString(a Action) string {
	if a == nil {
		return "(no action)"
	}
	return a.String()
}
