package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// DocsRecipe is the Vital docs' recipe taken literally: at launch, read the
// SDK's status and current user ID and compare the ID, as a string, with
// the Vital user the app stored for its user; on any difference sign out
// and sign in with a fresh token. No profiles, no journal, no backoff: a
// failure waits for the next launch.
type DocsRecipe struct{}

// Name returns "docs-recipe".
func (DocsRecipe) Name() string { return "docs-recipe" }

// Launch applies the recipe once.
func (DocsRecipe) Launch(ctx context.Context, p *Process) Launch {
	return signOutInUnless(ctx, p, func(sdk reconcile.SDK) bool { return sdk.CurrentUserID() == p.App.VitalUser })
}

// signOutInUnless is the plain strategies' launch: while the app has no
// user it signs out a session the SDK holds; while it has one it signs out
// and in again (signOutIn) unless the SDK holds a session and keep accepts
// it.
func signOutInUnless(ctx context.Context, p *Process, keep func(sdk reconcile.SDK) bool) Launch {
	var l Launch
	sdk := p.SDK()
	signedIn := sdk.Status().Has(fsm.FlagSignedIn)
	switch {
	case !p.App.SignedIn:
		if signedIn {
			signOut(ctx, p, &l)
		}
	case !signedIn || !keep(sdk):
		signOutIn(ctx, p, &l, signedIn)
	}
	return finish(l)
}
