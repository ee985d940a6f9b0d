package vitalsdk

import (
	"context"

	"github.com/vitalsync/vitalsync/fsm"
)

// Reinstall applies to an installation's persisted state what deleting the
// app and installing it again leaves of it on profile p (reference §10.5).
// Call it between two launches (no Client of the installation may be in
// use), then launch with New.
//
//   - iOS ≤1.3: the restoration state and the token record are keychain
//     items, which survive the uninstall, and nothing checks them: the app
//     comes back signed in as the previous user. Nothing changes.
//   - iOS 1.4+: the startup params and gist files go with the app, and the
//     next launch finds the surviving keychain record disagreeing with them
//     and wipes both ("app reinstalled?"): signed out. Everything is erased.
//   - Android with an Auto Backup restore (backupRestore true): the library
//     declares no backup rules, so the auth strategy and record come back;
//     the reinstall check clears only vital_health_connect_prefs, so the
//     external user ID does not. The refresh token is the one of the backup,
//     which the server may have rotated since (a stale token then reads as
//     a deleted user at the next refresh). Without a restore (backupRestore
//     false) Android starts empty.
//
// A store error is returned as is.
func Reinstall(ctx context.Context, s Store, installation string, p fsm.Profile, backupRestore bool) error {
	switch {
	case p.Platform == fsm.IOS && p.ConfigurePersists:
		return nil
	case p.Platform == fsm.Android && backupRestore:
		st, ok, err := s.LoadDevice(ctx, installation)
		if err != nil || !ok {
			return err
		}
		st.ExternalUserID = ""
		return s.SaveDevice(ctx, st)
	}
	return s.DeleteDevice(ctx, installation)
}
