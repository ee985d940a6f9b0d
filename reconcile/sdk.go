package reconcile

import (
	"context"

	"github.com/vitalsync/vitalsync/fsm"
)

// SDK is the part of the Vital Core SDK the runner reads and drives.
// Status and CurrentUserID must do no IO.
type SDK interface {
	Status() fsm.Status
	CurrentUserID() string
	// Environment returns the SDK's configured environment and region, and
	// false when it has none.
	Environment() (fsm.Environment, fsm.Region, bool)
	SignIn(ctx context.Context, signInToken string) error
	SignOut(ctx context.Context) error
}

// Initializer is implemented by SDKs that must be set up in the process
// before their status means anything: Android's status reads empty until
// its client exists (§10.11), and a launch that read it first would tear a
// good session down. The runner calls Initialize before its first read.
type Initializer interface {
	Initialize(ctx context.Context) error
}

// ProtectedData is implemented by SDKs that can tell whether the device's
// protected data is readable (the iOS keychain before first unlock, §10.6).
// While it is not, the planner decides nothing.
type ProtectedData interface {
	ProtectedDataAvailable() bool
}

// Identifier is implemented by SDKs that have identifyExternalUser. The
// planner applies a token action through it (Identify) where the profile
// has it and a plain signIn does not persist a new session or an API-key →
// token migration (iOS 1.4+; reference §1.2, §2.7). NewRunner refuses a
// profile whose plans need it with an SDK that lacks it.
type Identifier interface {
	IdentifyWithSignInToken(ctx context.Context, externalUserID, signInToken string) error
}

// TokenSource is the app backend's issuer of Sign-In Tokens.
type TokenSource interface {
	// SignInToken mints a token for the app user and says which Vital user
	// it signs in.
	SignInToken(ctx context.Context, appUserID string) (vitalUserID, token string, err error)
	// ResolveVitalUser returns the app user's Vital user without minting.
	ResolveVitalUser(ctx context.Context, appUserID string) (string, error)
}

// needsIdentify reports whether the planner applies some action through
// identifyExternalUser on profile p (see Plan).
func needsIdentify(p fsm.Profile) bool {
	return p.HasIdentify && (p.SignInNeedsRelaunch || !p.APIKeyMigrationPersists)
}
