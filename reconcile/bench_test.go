package reconcile

import (
	"testing"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

func benchObservation(b *testing.B, profile string) Observation {
	p, ok := fsm.ParseProfile(profile)
	if !ok {
		b.Fatal(profile)
	}
	return Observation{
		Profile: p,
		App: AppSession{SignedIn: true, AppUserID: "u-1", VitalUserID: "6c1a8f2e-0d4b-4f6e-9a51-3b7e2c9d8f10",
			Environment: fsm.Sandbox, Region: fsm.US},
		SDK: SDKObservation{Status: fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken,
			CurrentUserID: "6C1A8F2E-0D4B-4F6E-9A51-3B7E2C9D8F10", Environment: fsm.Sandbox, Region: fsm.US},
		LastObserved: fsm.Token,
		Now:          time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
	}
}

// BenchmarkPlanConsistent is the launch that finds nothing to do: the hot
// path of every app start. Target: < 100 ns, 0 allocations.
func BenchmarkPlanConsistent(b *testing.B) {
	o := benchObservation(b, "ios-1.8")
	b.ReportAllocs()
	for b.Loop() {
		if p := o.Plan(); len(p.Actions) != 0 {
			b.Fatal(p)
		}
	}
}

// BenchmarkPlanSwitchUser plans a user switch: sign out, sign in.
func BenchmarkPlanSwitchUser(b *testing.B) {
	o := benchObservation(b, "android-5.0")
	o.App.AppUserID, o.App.VitalUserID = "u-2", "9a8b7c6d-0000-4111-8222-933344445555"
	b.ReportAllocs()
	for b.Loop() {
		if p := o.Plan(); len(p.Actions) != 2 {
			b.Fatal(p)
		}
	}
}

// BenchmarkDecodeObservation decodes the plan command's JSON input.
func BenchmarkDecodeObservation(b *testing.B) {
	data := []byte(readmeObservation)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseObservation(data); err != nil {
			b.Fatal(err)
		}
	}
}
