package issuer

import (
	"context"
	"errors"
	"time"
)

// Mapping maps an app user to their Vital user. A mapping with a DeletedAt
// is history: the Vital user was deleted and the app user was (or will be)
// mapped to a new one.
type Mapping struct {
	AppUserID   string
	VitalUserID string
	CreatedAt   time.Time
	DeletedAt   *time.Time // nil while the mapping is active
}

// Active reports whether m is an app user's current mapping.
func (m Mapping) Active() bool { return m.DeletedAt == nil }

// The user map's errors. Stores return errors that match them (errors.Is),
// possibly along with their own.
var (
	// ErrMappingExists means the app user already has an active mapping;
	// PutUser returns that mapping along with the error.
	ErrMappingExists = errors.New("app user already has an active mapping")
	// ErrMappingInactive means the app user has no active mapping to the
	// given Vital user (none at all, another one, or one already marked
	// deleted); MarkUserDeleted changed nothing.
	ErrMappingInactive = errors.New("no such active mapping")
	// ErrInvalidMapping means a mapping to store has an empty app user or
	// Vital user ID.
	ErrInvalidMapping = errors.New("invalid user mapping")
)

// UserStore is the app user → Vital user map the Handler needs;
// adapters/store/sqlite and adapters/store/memory implement it, and
// adapters/store/storetest checks them against this contract:
//
//   - LookupUser returns the app user's active mapping and true, or false
//     with no error when it has none.
//   - PutUser maps appUserID to vitalUserID, created now by the store's
//     clock (UTC, no monotonic reading). When the app user already has an
//     active mapping it changes nothing and returns that mapping with an
//     error matching ErrMappingExists: of concurrent first calls for one
//     app user exactly one succeeds, across every Handler sharing the
//     store. An empty ID is refused with ErrInvalidMapping.
//   - MarkUserDeleted marks the active mapping of appUserID to vitalUserID
//     deleted now, keeping it as history; without such an active mapping it
//     fails with ErrMappingInactive and changes nothing.
//   - A done context yields ctx.Err() and changes nothing.
//   - It is safe for concurrent use.
type UserStore interface {
	LookupUser(ctx context.Context, appUserID string) (Mapping, bool, error)
	PutUser(ctx context.Context, appUserID, vitalUserID string) (Mapping, error)
	MarkUserDeleted(ctx context.Context, appUserID, vitalUserID string) error
}
