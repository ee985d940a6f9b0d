package memory_test

import (
	"testing"
	"time"

	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/memory"
	"github.com/vitalsync/vitalsync/adapters/storetest"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// The interfaces of the consumers that the stores implement.
var (
	_ vitalsdk.Store         = (*memory.DeviceStore)(nil)
	_ vitalsdk.Store         = (*memory.CrashingStore)(nil)
	_ issuer.UserStore       = (*memory.UserMap)(nil)
	_ storetest.UserMapStore = (*memory.UserMap)(nil)
)

func TestDeviceStoreContract(t *testing.T) {
	storetest.DeviceStore(t, func(*testing.T) vitalsdk.Store { return memory.NewDeviceStore() })
}

// A CrashingStore that never crashes is its wrapped store.
func TestCrashingStoreContract(t *testing.T) {
	storetest.DeviceStore(t, func(*testing.T) vitalsdk.Store {
		return memory.CrashAfter(memory.NewDeviceStore(), -1)
	})
}

func TestUserMapContract(t *testing.T) {
	storetest.UserMap(t, func(_ *testing.T, now func() time.Time) storetest.UserMapStore {
		return memory.NewUserMap(now)
	})
}
