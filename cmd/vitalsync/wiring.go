package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The adapters below connect the concrete clients to the interfaces the
// runner declares, and translate their errors into the runner's classes.
var (
	_ reconcile.SDK         = sdkAdapter{}
	_ reconcile.Identifier  = sdkAdapter{}
	_ reconcile.TokenSource = tokenSource{}
	_ reconcile.Journal     = journal{}
)

// sdkAdapter is reconcile.SDK over the Go SDK core.
type sdkAdapter struct{ c *vitalsdk.Client }

func (s sdkAdapter) Status() fsm.Status    { return s.c.Status() }
func (s sdkAdapter) CurrentUserID() string { return s.c.CurrentUserID() }
func (s sdkAdapter) Environment() (fsm.Environment, fsm.Region, bool) {
	return s.c.Environment()
}
func (s sdkAdapter) SignIn(ctx context.Context, tok string) error {
	return sdkError(s.c.SignIn(ctx, tok))
}
func (s sdkAdapter) SignOut(ctx context.Context) error { return sdkError(s.c.SignOut(ctx)) }
func (s sdkAdapter) IdentifyWithSignInToken(ctx context.Context, ext, tok string) error {
	return sdkError(s.c.IdentifyExternalUser(ctx, ext, vitalsdk.SignInTokenAuth{Token: tok}))
}

// classified is an adapter error that also matches one of the runner's
// sentinels.
type classified struct{ kind, err error }

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() []error { return []error{c.kind, c.err} }

// sdkError maps the SDK core's errors to the runner's (reference §9).
func sdkError(err error) error {
	if err == nil {
		return nil
	}
	for _, m := range [...]struct{ from, to error }{
		{vitalsdk.ErrAlreadySignedIn, reconcile.ErrAlreadySignedIn},
		{vitalsdk.ErrInvalidSignInToken, reconcile.ErrInvalidSignInToken},
		{vitalsdk.ErrInvalidUser, reconcile.ErrUserDeleted},
		{vitalsdk.ErrNeedsReauthentication, reconcile.ErrNeedsReauthentication},
	} {
		if errors.Is(err, m.from) {
			return &classified{kind: m.to, err: err}
		}
	}
	var ae *junction.APIError
	if errors.As(err, &ae) && ae.Transient() {
		return &reconcile.TransientError{Err: err, RetryAfter: ae.RetryAfter}
	}
	return err
}

// tokenSource is reconcile.TokenSource over the issuer's client.
type tokenSource struct{ c *issuer.Client }

func (t tokenSource) SignInToken(ctx context.Context, appUser string) (string, string, error) {
	v, tok, err := t.c.SignInToken(ctx, appUser)
	return v, tok, issuerError(err)
}

func (t tokenSource) ResolveVitalUser(ctx context.Context, appUser string) (string, error) {
	v, err := t.c.ResolveVitalUser(ctx, appUser)
	return v, issuerError(err)
}

func issuerError(err error) error {
	var ie *issuer.Error
	if errors.As(err, &ie) && ie.Transient() {
		return &reconcile.TransientError{Err: err, RetryAfter: ie.RetryAfter}
	}
	return err
}

// journal is reconcile.Journal over the SQLite journal of one installation.
type journal struct {
	db           *sqlite.DB
	installation string
	profile      string
}

func (j journal) Load(ctx context.Context) (reconcile.JournalEntry, error) {
	e, ok, err := j.db.LoadJournal(ctx, j.installation)
	if err != nil || !ok {
		return reconcile.JournalEntry{}, err
	}
	lastErr, _ := reconcile.ParseSDKError(e.LastErrorClass)
	return reconcile.JournalEntry{
		LastObserved: e.LastObserved, Environment: e.Environment, Region: e.Region,
		AppUserID: e.AppUserID, VitalUserID: e.VitalUserID, InFlight: e.InFlight,
		Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt, LastError: lastErr,
	}, nil
}

func (j journal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	return j.db.SaveJournal(ctx, sqlite.JournalEntry{
		Installation: j.installation, Profile: j.profile,
		LastObserved: e.LastObserved, Environment: e.Environment, Region: e.Region,
		AppUserID: e.AppUserID, VitalUserID: e.VitalUserID, InFlight: e.InFlight,
		Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt, LastErrorClass: string(e.LastError),
	}, event)
}

// countingTransport counts the HTTP requests a launch sends.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

func newCountingClient() (*http.Client, *countingTransport) {
	t := &countingTransport{next: http.DefaultTransport}
	return &http.Client{Transport: t}, t
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
