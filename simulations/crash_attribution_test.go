package simulations

import (
	"context"
	"testing"

	"github.com/vitalsync/vitalsync/fsm"
)

// TestCrashAfterSignInKeepsTheSession is the rapid finding saved under
// testdata/rapid, as a plain test: a sign-in for one app user fails, and
// at the next launch the process dies after the SDK persisted the sign-in
// but before the journal recorded it. The app then signs out and in as
// another user; no launch breaks an invariant, and the launch after
// agreement signs nothing out.
func TestCrashAfterSignInKeepsTheSession(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		found := false
		for k := 0; k < CrashSteps && !found; k++ {
			ctx := context.Background()
			d, err := newDevice(ctx, 1, 0, Setup{Profile: "ios-1.3"}, Engine{}, "")
			if err != nil {
				t.Fatal(err)
			}
			steps := []Step{
				{At: 1, App: &AppEvent{Kind: "sign-in", User: "i0-u1"}, Net: []NetFault{{Kind: Fault429, RetryAfter: 1}}},
				{At: 61, Crash: &k},
				{At: 121, App: &AppEvent{Kind: "sign-out"}},
				{At: 181, App: &AppEvent{Kind: "sign-in", User: "i0-u0"}},
				{At: 241, Concurrent: concurrent},
			}
			var outs []stepOut
			for i, s := range steps {
				out := d.step(ctx, i, s, false)
				d.last = out.after
				outs = append(outs, out)
				if len(out.violations) != 0 {
					t.Fatalf("concurrent=%v crash point %d step %d: %+v", concurrent, k, i, out.violations)
				}
			}
			d.close()
			// The crash point sought: before the journal's write, with the
			// SDK signed in.
			if outs[1].rec.Crashed != "crash-journal" || !outs[1].after.status.Has(fsm.FlagSignedIn) {
				continue
			}
			found = true
			for _, a := range outs[4].rec.Actions {
				if a == "sign-out" {
					t.Fatalf("concurrent=%v: the launch after agreement signed out: %v", concurrent, outs[4].rec.Actions)
				}
			}
			if !outs[4].after.consistent {
				t.Fatalf("concurrent=%v: not consistent after the launch", concurrent)
			}
		}
		if !found {
			t.Fatalf("concurrent=%v: no crash point falls between the SDK's write and the journal's", concurrent)
		}
	}
}
