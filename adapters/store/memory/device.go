package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// DeviceStore holds the SDK state of any number of installations; it
// implements vitalsdk.Store. The zero value is an empty store.
type DeviceStore struct {
	mu      sync.Mutex
	devices map[string]vitalsdk.DeviceState
	writes  atomic.Uint64
}

// NewDeviceStore returns an empty device store.
func NewDeviceStore() *DeviceStore {
	return &DeviceStore{devices: map[string]vitalsdk.DeviceState{}}
}

// LoadDevice returns a copy of the state of installation, and false if none
// is stored.
func (s *DeviceStore) LoadDevice(ctx context.Context, installation string) (vitalsdk.DeviceState, bool, error) {
	st, ok, err := lookup(ctx, &s.mu, s.devices, installation)
	if !ok {
		return vitalsdk.DeviceState{}, false, err
	}
	return st.Clone(), true, nil
}

// lookup returns m[key] under mu, and false if it is not there; ctx's
// error, and nothing, once ctx is done.
func lookup[V any](ctx context.Context, mu *sync.Mutex, m map[string]V, key string) (V, bool, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, false, err
	}
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[key]
	return v, ok, nil
}

// SaveDevice stores a copy of st as the whole state of st.Installation. A
// state that fails st.Validate is refused with its *vitalsdk.StateError
// (matching vitalsdk.ErrInvalidState) and nothing changes.
func (s *DeviceStore) SaveDevice(ctx context.Context, st vitalsdk.DeviceState) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("save device: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st = st.Clone()
	if st.Record != nil {
		st.Record.Expiry = normalize(st.Record.Expiry)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.devices == nil {
		s.devices = map[string]vitalsdk.DeviceState{}
	}
	s.devices[st.Installation] = st
	s.writes.Add(1)
	return nil
}

// DeleteDevice erases the state of installation; deleting a missing one is
// not an error.
func (s *DeviceStore) DeleteDevice(ctx context.Context, installation string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.devices, installation)
	s.writes.Add(1)
	return nil
}

// WriteCount returns the number of saves and deletes that succeeded, as
// sqlite.DB.WriteCount counts its commits.
func (s *DeviceStore) WriteCount() uint64 { return s.writes.Load() }

// normalize is a time as a store gives it back: UTC, without a monotonic
// reading; the zero time stays zero.
func normalize(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
