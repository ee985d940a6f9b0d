package simulations

import (
	"context"

	"github.com/vitalsync/vitalsync/fsm"
)

// EveryLaunch signs out and signs in again at every launch while the app
// has a user (what the docs forbid), and signs out while it has none.
type EveryLaunch struct{}

// Name returns "every-launch".
func (EveryLaunch) Name() string { return "every-launch" }

// Launch signs out and in.
func (EveryLaunch) Launch(ctx context.Context, p *Process) Launch {
	var l Launch
	signedIn := p.SDK().Status().Has(fsm.FlagSignedIn)
	switch {
	case !p.App.SignedIn:
		if signedIn {
			signOut(ctx, p, &l)
		}
	default:
		signOutIn(ctx, p, &l, signedIn)
	}
	return finish(l)
}
