package simulations

import (
	"context"
	"testing"
)

// TestCrashAfterSignInKeepsTheSession is the rapid finding saved under
// testdata/rapid, as a plain test: a sign-in for one app user fails, the
// app switches user, and the process dies after the SDK persisted the new
// user's sign-in but before the journal recorded it. The next launch must
// attribute the session to the app user it was started for, and learn its
// Vital user, not tear it down as the earlier user's.
func TestCrashAfterSignInKeepsTheSession(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		ctx := context.Background()
		d, err := newDevice(ctx, 1, 0, Setup{Profile: "ios-1.3"}, Engine{}, "")
		if err != nil {
			t.Fatal(err)
		}
		two := 2
		steps := []Step{
			{At: 1, Net: []NetFault{{Kind: Fault429, RetryAfter: 1}}},
			{At: 61, Crash: &two},
			{At: 121, App: &AppEvent{Kind: "sign-in", User: "i0-u1"}},
			{At: 181, App: &AppEvent{Kind: "sign-out"}},
			{At: 241, App: &AppEvent{Kind: "sign-in", User: "i0-u0"}},
			{At: 301, Concurrent: concurrent},
		}
		var outs []stepOut
		for i, s := range steps {
			out := d.step(ctx, i, s, false)
			d.last = out.after
			outs = append(outs, out)
			if len(out.violations) != 0 {
				t.Fatalf("concurrent=%v step %d: %+v", concurrent, i, out.violations)
			}
		}
		if got := outs[4].rec.Crashed; got != "crash-sdk" {
			t.Fatalf("step 4 crashed at %q, want after the SDK's write (crash-sdk)", got)
		}
		for _, a := range outs[5].rec.Actions {
			if a == "sign-out" {
				t.Fatalf("concurrent=%v: the launch after the crash signed out: %v", concurrent, outs[5].rec.Actions)
			}
		}
		if !outs[5].after.consistent {
			t.Fatalf("concurrent=%v: not consistent after the launch", concurrent)
		}
		d.close()
	}
}
