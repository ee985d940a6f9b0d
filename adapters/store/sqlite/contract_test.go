package sqlite

import (
	"testing"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The interfaces of the consumers that DB implements.
var (
	_ vitalsdk.Store         = (*DB)(nil)
	_ issuer.UserStore       = (*DB)(nil)
	_ storetest.UserMapStore = (*DB)(nil)
)

func TestDeviceStoreContract(t *testing.T) {
	storetest.DeviceStore(t, func(t *testing.T) vitalsdk.Store {
		db, _ := openTest(t)
		return db
	})
}

func TestUserMapContract(t *testing.T) {
	storetest.UserMap(t, func(t *testing.T, now func() time.Time) storetest.UserMapStore {
		db, _ := openIssuerTest(t, WithClock(now))
		return db
	})
}

func TestJournalContract(t *testing.T) {
	storetest.Journal(t, func(t *testing.T) reconcile.Journal {
		db, _ := openTest(t)
		return db.Journal("phone", "ios-1.8")
	})
}
