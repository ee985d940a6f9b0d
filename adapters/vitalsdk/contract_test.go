package vitalsdk_test

import (
	"github.com/vitalsync/vitalsync/reconcile"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// The Client is the reconcile runner's SDK.
var _ reconcile.SDK = (*vitalsdk.Client)(nil)
