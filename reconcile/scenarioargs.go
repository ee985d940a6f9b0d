package reconcile

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// ScenarioObservation builds the observation a planner scenario line
// describes (the "plan" directive of testdata/plan/*.txt), from its keys and
// values in order, at now. The scenario tests of this package and the
// conformance vector export both read those files with it, so that the two
// cannot disagree on what a line means. The keys:
//
//	profile=P app=signed-out|U|U:V app-env=E/R status=-|flag,flag user=ID
//	sdk-env=E/R last=STATE error=SDKERR next=+DUR allow-api-key
//	last-action=ACTION attempts=N issued=V unused-token=V session=U
//	resolved=-DUR deletion-undetectable protected-data=unavailable
//
// A key without a value (allow-api-key, deletion-undetectable) comes with
// "". deletion-undetectable makes the profile's SDK never detect a deleted
// user (Android 4.2.1–4.2.2, §10.1), wherever it stands on the line. The
// observation is not validated: the caller calls Validate.
func ScenarioObservation(now time.Time, args iter.Seq2[string, string]) (Observation, error) {
	o := Observation{Now: now}
	deletionUndetectable := false
	for k, v := range args {
		switch k {
		case "profile":
			p, ok := fsm.ParseProfile(v)
			if !ok {
				return o, fmt.Errorf("unknown profile %q", v)
			}
			o.Profile = p
		case "app":
			if v == "signed-out" {
				continue
			}
			o.App.SignedIn = true
			o.App.AppUserID, o.App.VitalUserID, _ = strings.Cut(v, ":")
		case "app-env", "sdk-env":
			e, r, _ := strings.Cut(v, "/")
			if k == "app-env" {
				o.App.Environment, o.App.Region = fsm.Environment(e), fsm.Region(r)
			} else {
				o.SDK.Environment, o.SDK.Region = fsm.Environment(e), fsm.Region(r)
			}
		case "status":
			if v == "-" {
				continue
			}
			s, err := fsm.ParseStatus(strings.Split(v, ","))
			if err != nil {
				return o, err
			}
			o.SDK.Status = s
		case "user":
			o.SDK.CurrentUserID = v
		case "last":
			o.LastObserved = fsm.State(v)
		case "error":
			o.LastError = SDKError(v)
		case "next":
			d, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
			if err != nil {
				return o, err
			}
			o.NextAttemptAt = now.Add(d)
		case "last-action":
			act, ok := ParseAction(v)
			if !ok {
				return o, fmt.Errorf("bad action %q", v)
			}
			o.LastAction = act
		case "attempts":
			n, err := strconv.Atoi(v)
			if err != nil {
				return o, err
			}
			o.Attempts = n
		case "issued":
			o.IssuedVitalUserID = v
		case "unused-token":
			o.UnusedToken = v
		case "session":
			o.SessionAppUserID = v
		case "resolved":
			d, err := time.ParseDuration(strings.TrimPrefix(v, "-"))
			if err != nil {
				return o, err
			}
			o.LastResolvedAt = now.Add(-d)
		case "deletion-undetectable":
			deletionUndetectable = true
		case "protected-data":
			o.ProtectedDataUnavailable = v == "unavailable"
		case "allow-api-key":
			o.AllowAPIKey = true
		default:
			return o, fmt.Errorf("unknown key %q", k)
		}
	}
	if deletionUndetectable {
		o.Profile.DetectsDeletion = false
	}
	return o, nil
}
