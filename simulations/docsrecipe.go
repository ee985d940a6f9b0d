package simulations

import (
	"context"

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
func (DocsRecipe) Launch(ctx context.Context, p *Process) LaunchResult {
	return signOutInUnless(ctx, p, func(sdk reconcile.SDK) bool { return sdk.CurrentUserID() == p.App.VitalUser })
}
