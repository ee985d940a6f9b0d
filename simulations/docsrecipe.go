package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/fsm"
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
	var l Launch
	sdk := p.SDK()
	signedIn := sdk.Status().Has(fsm.FlagSignedIn)
	switch {
	case !p.App.SignedIn:
		if signedIn {
			signOut(ctx, p, &l)
		}
	case !signedIn || sdk.CurrentUserID() != p.App.VitalUser:
		signOutIn(ctx, p, &l, signedIn)
	}
	return finish(l)
}
