package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Identify is the SDK's own identifyExternalUser, called at every launch
// with the app's user as the external user ID, on the profiles that have it
// (iOS 1.4+, Android 4.1+); elsewhere (iOS ≤1.3) it is the docs' recipe. The
// SDKs take the credentials through a callback they call only when they do
// not short-circuit on the stored external ID; the Go core takes a value, so
// this strategy mints a token only when that callback would be called.
type Identify struct{}

// Name returns "identify".
func (Identify) Name() string { return "identify" }

// Launch identifies the app's user, or signs out when the app is.
func (Identify) Launch(ctx context.Context, p *Process) LaunchResult {
	if !p.Profile.HasIdentify {
		return DocsRecipe{}.Launch(ctx, p)
	}
	var l LaunchResult
	sdk := p.Installation.SDK()
	if !p.App.SignedIn {
		if sdk.Status().Has(fsm.FlagSignedIn) {
			signOut(ctx, p, &l)
		}
		return finish(l)
	}
	if p.Profile.IdentifyShortCircuits && p.ExternalUserID() == p.App.User {
		// The SDK returns at once without calling back: no token, no action.
		l.Err = sdk.IdentifyExternalUser(ctx, p.App.User, vitalsdk.SignInTokenAuth{})
		return finish(l)
	}
	v, tok, err := p.Tokens.SignInToken(ctx, p.App.User)
	if err != nil {
		l.Applied = append(l.Applied, Applied{Action: reconcile.SignIn{}, Err: err})
		l.Err = err
		return finish(l)
	}
	p.App.VitalUser = v
	err = sdk.IdentifyExternalUser(ctx, p.App.User, vitalsdk.SignInTokenAuth{Token: tok})
	l.Applied = append(l.Applied, Applied{Action: reconcile.SignIn{VitalUser: v}, Err: err})
	l.Err = err
	return finish(l)
}

// signOut signs the SDK out and records it.
func signOut(ctx context.Context, p *Process, l *LaunchResult) {
	err := p.SDK().SignOut(ctx)
	l.Applied = append(l.Applied, Applied{Action: reconcile.SignOut{}, Err: err})
	l.Err = err
}
