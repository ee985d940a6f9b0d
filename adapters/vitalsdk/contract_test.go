package vitalsdk

import "github.com/vitalsync/vitalsync/reconcile"

// The Client is the reconcile runner's SDK.
var _ reconcile.SDK = (*Client)(nil)
