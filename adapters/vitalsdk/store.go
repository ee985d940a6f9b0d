package vitalsdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Store keeps the persisted SDK state of installations: what the SDK keeps
// in its keychain or preferences. A Client loads its installation's state
// once, in New, and writes the whole state on every change. The package's
// contract for implementations (adapters/store/sqlite, adapters/store/memory), checked
// by adapters/store/storetest:
//
//   - LoadDevice returns the state last saved for installation and true, or
//     false with no error when none is stored (or it was deleted).
//     Times come back in UTC, without a monotonic reading; the zero time
//     stays zero.
//   - SaveDevice replaces the whole state of s.Installation, atomically (a
//     nil Record removes the token record). A state whose Validate fails is
//     refused with an error matching ErrInvalidState, and nothing changes.
//     The store keeps its own copy: later changes to s do not reach it.
//   - DeleteDevice erases every part of the installation's state, secrets
//     included, atomically. Deleting a missing installation is not an error.
//   - A done context yields ctx.Err() and changes nothing.
//   - It is safe for concurrent use.
//
// Errors of the store reach the Client's callers wrapped in an *Error with
// no Kind, so errors.Is still finds them (a store's own sentinels, or
// ErrInvalidState).
type Store interface {
	LoadDevice(ctx context.Context, installation string) (DeviceState, bool, error)
	SaveDevice(ctx context.Context, s DeviceState) error
	DeleteDevice(ctx context.Context, installation string) error
}

// Strategy is an auth strategy a device persists (DeviceState.Strategy and
// StartupStrategy). Its values are stable strings, stored as such.
type Strategy string

// The strategies; "" (StrategyNone) means none.
const (
	StrategyNone   Strategy = ""
	StrategyAPIKey Strategy = "apiKey"
	StrategyJWT    Strategy = "jwt"
)

// ParseStrategy returns the strategy named s ("" is StrategyNone), and
// false when s names none.
func ParseStrategy(s string) (Strategy, bool) {
	switch st := Strategy(s); st {
	case StrategyNone, StrategyAPIKey, StrategyJWT:
		return st, true
	}
	return "", false
}

// TokenRecord is a device's JWT session: what the SDK stores after a
// successful sign-in (reference §2.4). Region is "" on Android 4.2.0, whose
// record has none (§10.3). A Store should keep the tokens
// secret at rest (adapters/store/sqlite seals them).
type TokenRecord struct {
	UserID, TeamID, TenantID string
	// PublicAPIKey is the legacy exchange's Web API key (the Sign-In
	// Token's public_key), which the legacy profiles' refreshes send
	// (§10.3); "" on the other profiles. It is public, not a secret.
	PublicAPIKey  string
	Environment   fsm.Environment
	Region        fsm.Region
	AccessToken   string // secret
	RefreshToken  string // secret
	Expiry        time.Time
	PendingReauth bool
}

// DeviceState is the persisted SDK state of one installation (reference §6
// and §9). A store may hold many devices, e.g. in simulations.
type DeviceState struct {
	Installation string
	Strategy     Strategy        // of the configuration
	Environment  fsm.Environment // of the strategy
	Region       fsm.Region
	APIKey       string // secret
	APIKeyUserID string // API-key mode user ID, as passed
	Record       *TokenRecord
	// ExternalUserID is identifyExternalUser's stored external user ID.
	ExternalUserID string
	// StartupStrategy and StartupUserID are the startup parameters that
	// survive relaunch (iOS 1.4+ only).
	StartupStrategy Strategy
	StartupUserID   string
}

// ErrInvalidState means a DeviceState holds a value outside its domain (see
// Validate). Stores refuse to save such a state with an error matching it.
var ErrInvalidState = errors.New("invalid device state")

// The fields Validate checks, as a StateError names them. A store may use
// them as its own names (adapters/store/sqlite's columns are named so).
const (
	FieldInstallation     = "installation"
	FieldStrategy         = "strategy"
	FieldEnvironment      = "environment"
	FieldRegion           = "region"
	FieldStartupStrategy  = "startup_strategy"
	FieldTokenEnvironment = "token_environment"
	FieldTokenRegion      = "token_region"
)

// StateError reports the field of a DeviceState that is outside its domain.
// It matches ErrInvalidState and never holds a value of the state.
type StateError struct {
	Installation string
	Field        string // one of the Field constants
}

// Error names the installation and the field.
func (e *StateError) Error() string {
	return fmt.Sprintf("%s: %s of %q", ErrInvalidState, e.Field, e.Installation)
}

// Is reports whether target is ErrInvalidState.
func (e *StateError) Is(target error) bool { return target == ErrInvalidState }

// Validate reports the first field of s outside its domain as a
// *StateError: an empty installation, an unknown strategy or startup
// strategy, an unknown environment or region (of the configuration or of
// the token record; "" means none). It returns nil for a valid state.
func (s DeviceState) Validate() error {
	bad := func(field string) error { return &StateError{Installation: s.Installation, Field: field} }
	switch {
	case s.Installation == "":
		return bad(FieldInstallation)
	case !validStrategy(s.Strategy):
		return bad(FieldStrategy)
	case !s.Environment.KnownOrNone():
		return bad(FieldEnvironment)
	case !s.Region.KnownOrNone():
		return bad(FieldRegion)
	case !validStrategy(s.StartupStrategy):
		return bad(FieldStartupStrategy)
	}
	if r := s.Record; r != nil {
		if !r.Environment.KnownOrNone() {
			return bad(FieldTokenEnvironment)
		}
		if !r.Region.KnownOrNone() {
			return bad(FieldTokenRegion)
		}
	}
	return nil
}

// Clone returns a copy of s that shares nothing with it (its own Record).
func (s DeviceState) Clone() DeviceState {
	if s.Record != nil {
		r := *s.Record
		s.Record = &r
	}
	return s
}

func validStrategy(s Strategy) bool {
	_, ok := ParseStrategy(string(s))
	return ok
}
