package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/reconcile"
)

// EveryLaunch signs out and signs in again at every launch while the app
// has a user (what the docs forbid), and signs out while it has none.
type EveryLaunch struct{}

// Name returns "every-launch".
func (EveryLaunch) Name() string { return "every-launch" }

// Launch signs out and in.
func (EveryLaunch) Launch(ctx context.Context, p *Process) LaunchResult {
	return signOutInUnless(ctx, p, func(reconcile.SDK) bool { return false })
}
