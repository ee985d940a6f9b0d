package simulations

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
)

// reportVersions is the native SDK release an installation on each profile
// reports (a Flutter app reports the native SDK its wrapper pins).
var reportVersions = map[string]string{
	"ios-1.3": "1.3.4", "ios-1.8.1": "1.8.1", "ios-1.8": "1.8.8",
	"android-4.2.0": "4.2.0", "android-4.2.2": "4.2.2", "android-5.0": "5.0.2",
	"flutter-ios": "1.8.8", "flutter-android": "4.2.2",
	"flutter-ios-1.8.1": "1.6.4", "flutter-android-4.2.0": "4.1.4",
	"rn-ios-1.3": "1.3.4", "rn-5.2-ios-1.8.1": "1.6.0", "rn-ios-1.8.1": "1.8.1", "rn-ios-1.8": "1.8.8",
	"rn-android-4.2.0": "4.2.0", "rn-android-4.2.2": "4.2.2", "rn-android-5.0": "5.0.2",
	"android-4.2.1": "4.2.1", "flutter-android-4.2.1": "4.2.1", "rn-android-4.2.1": "4.2.1",
}

// finalReport is the installation report the device would send at the end
// of the run, in the public report schema, with the backend's current
// mapping of its app user (mapped_vital_user_id), as a fleet's export from
// the backend's warehouse arrives joined.
func (d *device) finalReport(ctx context.Context) (map[string]any, error) {
	sdk, err := d.openSDK(ctx, d.store)
	if err != nil {
		return nil, err
	}
	j, err := d.journal.Load(ctx)
	if err != nil {
		return nil, err
	}
	env, region, _ := sdk.Environment()
	r := issuer.Report{InstallationID: d.key(), Platform: d.profile.Platform,
		SDKVersion: reportVersions[d.profile.Name], AppSignedIn: d.app.SignedIn,
		SDKStatus: sdk.Status(), SDKCurrentUserID: sdk.CurrentUserID(), SDKEnvironment: env, SDKRegion: region,
		LastObserved: j.LastObserved, LastError: j.LastError, NextAttemptAt: j.NextAttemptAt,
		ReportedAt: d.clock.Now().UTC()}
	if p, ok := fsm.ProfileFor(r.Platform, r.SDKVersion); ok {
		r.Profile = p.Name
	}
	mapped := ""
	if d.app.SignedIn {
		r.AppUserID = d.app.User
		if strings.EqualFold(j.AppUserID, d.app.User) {
			r.AppVitalUserID = j.VitalUserID
		}
		r.AppEnvironment, r.AppRegion = fsm.Sandbox, fsm.US
		if m, ok, err := d.users.LookupUser(ctx, d.app.User); err == nil && ok {
			mapped = m.VitalUserID
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var row map[string]any
	if err := json.Unmarshal(data, &row); err != nil {
		return nil, err
	}
	row["mapped_vital_user_id"] = mapped
	return row, nil
}

// ReportWriter returns a Config.Reports function that writes each report
// as one JSON line to w (the audit's JSONL source reads it).
func ReportWriter(w io.Writer) func(map[string]any) error {
	enc := json.NewEncoder(w)
	return func(row map[string]any) error { return enc.Encode(row) }
}
