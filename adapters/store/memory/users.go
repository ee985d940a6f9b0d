package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/issuer"
)

// UserMap is the issuer's app user → Vital user map; it implements
// issuer.UserStore and keeps replaced mappings as history. The zero value
// is an empty map on the wall clock.
type UserMap struct {
	now func() time.Time // nil: time.Now
	mu  sync.Mutex
	// history holds every mapping per app user, oldest first; at most the
	// last one is active.
	history map[string][]issuer.Mapping
}

// NewUserMap returns an empty user map whose timestamps come from now
// (nil means time.Now).
func NewUserMap(now func() time.Time) *UserMap {
	return &UserMap{now: now}
}

// clock returns the time now.
func (u *UserMap) clock() time.Time {
	if u.now == nil {
		return time.Now().UTC()
	}
	return u.now().UTC()
}

// LookupUser returns the active mapping of appUserID, and false if it has
// none.
func (u *UserMap) LookupUser(ctx context.Context, appUserID string) (issuer.Mapping, bool, error) {
	if err := ctx.Err(); err != nil {
		return issuer.Mapping{}, false, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	m, ok := u.activeLocked(appUserID)
	return m, ok, nil
}

// PutUser maps appUserID to vitalUserID, created now. If appUserID already
// has an active mapping, PutUser changes nothing and returns that mapping
// with issuer.ErrMappingExists. An empty ID is issuer.ErrInvalidMapping.
func (u *UserMap) PutUser(ctx context.Context, appUserID, vitalUserID string) (issuer.Mapping, error) {
	if appUserID == "" || vitalUserID == "" {
		return issuer.Mapping{}, fmt.Errorf("put user: %w", issuer.ErrInvalidMapping)
	}
	if err := ctx.Err(); err != nil {
		return issuer.Mapping{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if m, ok := u.activeLocked(appUserID); ok {
		return m, fmt.Errorf("put user: %w", issuer.ErrMappingExists)
	}
	m := issuer.Mapping{AppUserID: appUserID, VitalUserID: vitalUserID, CreatedAt: u.clock()}
	if u.history == nil {
		u.history = map[string][]issuer.Mapping{}
	}
	u.history[appUserID] = append(u.history[appUserID], m)
	return m, nil
}

// MarkUserDeleted marks the active mapping of appUserID to vitalUserID as
// deleted now, keeping it as history. Without such an active mapping it
// returns issuer.ErrMappingInactive and changes nothing.
func (u *UserMap) MarkUserDeleted(ctx context.Context, appUserID, vitalUserID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	h := u.history[appUserID]
	if len(h) == 0 || !h[len(h)-1].Active() || h[len(h)-1].VitalUserID != vitalUserID {
		return fmt.Errorf("mark user deleted: %w", issuer.ErrMappingInactive)
	}
	deleted := u.clock()
	h[len(h)-1].DeletedAt = &deleted
	return nil
}

// UserHistory returns every mapping of appUserID, deleted ones included,
// oldest first. No mappings is an empty slice.
func (u *UserMap) UserHistory(ctx context.Context, appUserID string) ([]issuer.Mapping, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	h := u.history[appUserID]
	out := make([]issuer.Mapping, len(h))
	for i, m := range h {
		out[i] = copyMapping(m)
	}
	return out, nil
}

// activeLocked returns a copy of the active mapping of appUserID. The
// caller holds mu.
func (u *UserMap) activeLocked(appUserID string) (issuer.Mapping, bool) {
	h := u.history[appUserID]
	if len(h) == 0 || !h[len(h)-1].Active() {
		return issuer.Mapping{}, false
	}
	return copyMapping(h[len(h)-1]), true
}

// copyMapping copies m so that the caller cannot change the store's
// DeletedAt.
func copyMapping(m issuer.Mapping) issuer.Mapping {
	if m.DeletedAt != nil {
		t := *m.DeletedAt
		m.DeletedAt = &t
	}
	return m
}
