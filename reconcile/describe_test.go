package reconcile

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// The describers pass every outside value through quote, and print the
// plan table a row per line.
func TestDescribe(t *testing.T) {
	const hostile = "eve\n  sdk\tforged"
	q := strconv.Quote
	app := AppSession{SignedIn: true, AppUserID: hostile, VitalUserID: "v1"}
	if got, want := DescribeApp(app, q), `signed in as "eve\n  sdk\tforged" (Vital user "v1")`; got != want {
		t.Errorf("DescribeApp(%v) = %q, want %q", app, got, want)
	}
	if got := DescribeApp(AppSession{}, q); got != "signed out" {
		t.Errorf("DescribeApp(signed out) = %q", got)
	}
	o := Observation{Profile: fsm.Profile{Name: "ios-1.8"}, App: app,
		SDK: SDKObservation{Status: fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken, CurrentUserID: hostile}}
	if got := DescribeSDK(o, q); !strings.HasSuffix(got, ` user "eve\n  sdk\tforged"`) {
		t.Errorf("DescribeSDK = %q", got)
	}
	p := Plan{Actions: []Action{SignOut{}, SignIn{VitalUser: hostile}}, Observed: fsm.Token, Discrepancy: WrongUser,
		RetryAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	if got := DescribePlan(p, q); strings.ContainsAny(got, "\n\t") || !strings.HasPrefix(got, `"sign-out", `) {
		t.Errorf("DescribePlan = %q", got)
	}
	if got, want := DescribePlan(Plan{}, q), (Plan{}).String(); got != want {
		t.Errorf("DescribePlan(empty) = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	if err := WritePlanTable(&buf, &o, p, q); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "profile") || !strings.HasPrefix(lines[7], "retry at") ||
		!strings.HasSuffix(lines[7], "2026-11-24T10:00:00Z") {
		t.Errorf("WritePlanTable wrote %d lines:\n%s", len(lines), &buf)
	}
}
