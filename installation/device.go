package installation

import (
	"context"
	"errors"
	"time"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// DeviceStatus is what an installation's SDK core says after an operation
// (Operate): the state it classifies as, its status flags' names and its
// current user. Its field names are stable (vitalsync device prints it).
type DeviceStatus struct {
	State         fsm.State `json:"state"`
	Status        []string  `json:"status"`
	CurrentUserID string    `json:"current_user_id"`
}

// Operate runs op on an installation's SDK core (sdk, of profile p, whose
// journal is j) as one app launch of an app's own code outside the launch
// task (a sign-in by hand, a data sync's refresh). As an app's data sync
// would, it hands op's SDK error to the journal (reconcile.RecordSDKError),
// so the next launch plans from it (a needsReauthentication is invisible in
// the iOS 1.4+ status). Whether or not op failed (a failed refresh may have
// changed the state) it then observes the SDK (Observe, journaling as
// what) and returns what it says; op's error comes first.
func Operate(ctx context.Context, sdk *vitalsdk.Client, j reconcile.Journal, p fsm.Profile, what string,
	op func(context.Context, *vitalsdk.Client) error) (DeviceStatus, error) {
	opErr := op(ctx, sdk)
	st, obsErr := Observe(ctx, sdk, j, p, what)
	if opErr != nil {
		if rerr := reconcile.RecordSDKError(ctx, j, opErr); rerr != nil {
			return st, errors.Join(opErr, rerr)
		}
		return st, opErr
	}
	return st, obsErr
}

// Observe classifies sdk's status with the state last observed for the
// installation (the journal's LastObserved), and records the new state,
// environment and region in j (as "what: observed STATE") when they
// changed.
func Observe(ctx context.Context, sdk *vitalsdk.Client, j reconcile.Journal, p fsm.Profile, what string) (DeviceStatus, error) {
	status := sdk.Status()
	entry, err := j.Load(ctx)
	if err != nil {
		return DeviceStatus{}, err
	}
	state, err := fsm.Classify(status, entry.LastObserved, p)
	if err != nil {
		return DeviceStatus{}, err
	}
	env, region, _ := sdk.Environment()
	if entry.LastObserved != state || entry.Environment != env || entry.Region != region {
		entry.LastObserved = state
		entry.Environment, entry.Region = env, region
		if err := j.Save(ctx, entry, what+": observed "+string(state)); err != nil {
			return DeviceStatus{}, err
		}
	}
	return DeviceStatus{State: state, Status: status.Names(), CurrentUserID: sdk.CurrentUserID()}, nil
}

// ClearBackoff clears the journal's next attempt time, so that the next
// run plans as if no backoff were pending (vitalsync launch --now, after
// fixing what made the last attempt fail), journaling it as event. The
// failure count is kept, so a new failure backs off longer. It writes only
// when a backoff is pending.
func ClearBackoff(ctx context.Context, j reconcile.Journal, event string) error {
	entry, err := j.Load(ctx)
	if err != nil {
		return err
	}
	if entry.NextAttemptAt.IsZero() {
		return nil
	}
	entry.NextAttemptAt = time.Time{}
	return j.Save(ctx, entry, event)
}
