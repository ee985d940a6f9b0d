package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The interfaces of the consumers that the stores implement, and the
// crash wrappers those of the stores they wrap.
var (
	_ vitalsdk.Store         = (*memory.DeviceStore)(nil)
	_ issuer.UserStore       = (*memory.UserMap)(nil)
	_ storetest.UserMapStore = (*memory.UserMap)(nil)
	_ reconcile.Journal      = (*memory.Journal)(nil)
	_ vitalsdk.Store         = (*memory.CrashingStore)(nil)
	_ reconcile.Journal      = (*memory.CrashingJournal)(nil)
)

func TestDeviceStoreContract(t *testing.T) {
	storetest.DeviceStore(t, func(*testing.T) vitalsdk.Store { return memory.NewDeviceStore() })
}

// A CrashingStore that never crashes is its wrapped store.
func TestCrashingStoreContract(t *testing.T) {
	storetest.DeviceStore(t, func(*testing.T) vitalsdk.Store {
		return memory.CrashAfter(-1).Store(memory.NewDeviceStore())
	})
}

func TestUserMapContract(t *testing.T) {
	storetest.UserMap(t, func(_ *testing.T, now func() time.Time) storetest.UserMapStore {
		return memory.NewUserMap(now)
	})
}

// The zero value of DeviceStore is an empty store.
func TestZeroDeviceStoreContract(t *testing.T) {
	storetest.DeviceStore(t, func(*testing.T) vitalsdk.Store { return &memory.DeviceStore{} })
}

// The zero value of UserMap is an empty map on the wall clock.
func TestZeroUserMap(t *testing.T) {
	ctx := context.Background()
	var u memory.UserMap
	before := time.Now()
	m, err := u.PutUser(ctx, "app", "v1")
	require.NoError(t, err)
	require.Equal(t, time.UTC, m.CreatedAt.Location())
	require.False(t, m.CreatedAt.Before(before.Truncate(time.Second)) || m.CreatedAt.After(time.Now()), "created now: %v", m.CreatedAt)
	got, ok, err := u.LookupUser(ctx, "app")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, m, got)
}

func TestJournalContract(t *testing.T) {
	storetest.Journal(t, func(*testing.T) reconcile.Journal { return &memory.Journal{} })
}

func TestReportsContract(t *testing.T) {
	storetest.Reports(t, func(*testing.T) storetest.ReportStore { return &memory.Reports{} })
}
