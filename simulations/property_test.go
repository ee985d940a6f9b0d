package simulations

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/vitalsync/vitalsync/fsm"
	"pgregory.net/rapid"
)

// TestEngineStateMachine is the simulation's property-test form: rapid
// drives one installation of the engine on the real SDK core, issuer and
// emulator through app events and every fault class as actions, checks
// the invariants after every launch, then stops the faults and checks
// liveness and that the next launch is quiet (no call, no write, no
// action). rapid shrinks a failure to a minimal sequence of actions and
// saves it under testdata/rapid; commit those files: they are replayed
// first on every run, as regression cases.
//
// It replaces cmd/vitalsync's TestLaunchPropertyRealStack, which drove the
// same stack over loopback with fewer faults.
func TestEngineStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		setup := Setup{Profile: rapid.SampledFrom(fsm.Profiles()).Draw(t, "profile").Name,
			SQLite:      rapid.IntRange(0, 7).Draw(t, "store") == 0,
			APIKeyBuild: rapid.IntRange(0, 3).Draw(t, "api key build") == 0}
		dir := ""
		if setup.SQLite {
			var err error
			if dir, err = os.MkdirTemp("", "vitalsync-rapid-"); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
		}
		d, err := newDevice(ctx, 1, 0, setup, Engine{}, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.close()
		at, i := int64(1), 0
		run := func(t *rapid.T, s Step, last bool) stepOut {
			s.At = at
			if s.Tail {
				at += 2 * 3600 // past any backoff
			} else {
				at += int64(rapid.IntRange(60, 3*3600).Draw(t, "seconds to the next launch"))
			}
			out := d.step(ctx, i, s, last)
			d.last = out.after
			i++
			if rec, err := json.Marshal(out.rec); err == nil {
				t.Logf("%s", rec)
			}
			for _, v := range out.violations {
				rec, _ := json.Marshal(out.rec)
				t.Fatalf("step %d: %s %s\n%s", v.Step, v.Kind, v.Detail, rec)
			}
			return out
		}
		user := func(t *rapid.T) string { return appUser(0, rapid.IntRange(0, 2).Draw(t, "user")) }
		between := func(f Fault) func(*rapid.T) {
			return func(t *rapid.T) { run(t, Step{Between: []Fault{f}}, false) }
		}
		t.Repeat(map[string]func(*rapid.T){
			"sign in":  func(t *rapid.T) { run(t, Step{App: &AppEvent{Kind: "sign-in", User: user(t)}}, false) },
			"sign out": func(t *rapid.T) { run(t, Step{App: &AppEvent{Kind: "sign-out"}}, false) },
			"relaunch": func(t *rapid.T) { run(t, Step{}, false) },
			"sync":     func(t *rapid.T) { run(t, Step{Sync: true}, false) },
			"sdk upgrade": func(t *rapid.T) {
				if upgrade(d.profile.Name) == "" {
					t.Skip("no newer SDK line")
				}
				run(t, Step{App: &AppEvent{Kind: "sdk-upgrade"}}, false)
			},
			"network fault": func(t *rapid.T) {
				nf := NetFault{Kind: rapid.SampledFrom([]Fault{FaultLostRequest, FaultLostResponse, Fault5xx,
					Fault429, FaultTimeout}).Draw(t, "fault"), Skip: rapid.IntRange(0, 2).Draw(t, "skip")}
				if nf.Kind == Fault429 {
					nf.RetryAfter = rapid.IntRange(1, 7200).Draw(t, "retry after")
				}
				var app *AppEvent
				if rapid.Bool().Draw(t, "with a user switch") {
					app = &AppEvent{Kind: "sign-in", User: user(t)}
				}
				run(t, Step{App: app, Net: []NetFault{nf}}, false)
			},
			"crash": func(t *rapid.T) {
				k := rapid.IntRange(0, 6).Draw(t, "writes before the crash")
				run(t, Step{Crash: &k}, false)
			},
			"user deleted":      between(FaultUserDeleted),
			"refresh revoked":   between(FaultRefreshRevoked),
			"token expiry":      between(FaultTokenExpiry),
			"reinstall":         between(FaultReinstall),
			"concurrent launch": func(t *rapid.T) { run(t, Step{Concurrent: true}, false) },
		})
		// Faults stop: the installation must agree within the tail.
		var out stepOut
		for k := 0; k < TailLaunches; k++ {
			out = run(t, Step{Sync: true, Tail: true}, k == TailLaunches-1)
		}
		if !out.after.consistent {
			rec, _ := json.Marshal(out.rec)
			t.Fatalf("not consistent after the tail: %s", rec)
		}
		// And the launch after agreement is quiet.
		writes := d.writes()
		d.net.calls, d.net.counting = 0, true
		_, ls, _ := d.launch(ctx, d.store, d.journal, false)
		d.net.counting = false
		if d.net.calls != 0 || d.writes() != writes || len(ls[0].Applied) != 0 {
			t.Fatalf("the launch after agreement was not quiet: %d calls, %d writes, %+v",
				d.net.calls, d.writes()-writes, ls[0])
		}
	})
}
