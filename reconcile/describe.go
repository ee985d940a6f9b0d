package reconcile

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The describers below write the planner's values for people (vitalsync
// plan, launch and demo print them). Each takes quote, applied to every
// value from outside the process (IDs, errors, journal text), so that one
// holding a line break or a terminal escape cannot forge lines or columns;
// the vitalsync command passes one that quotes such values.

// DescribeApp describes the app's session: "signed out", or "signed in as
// U (Vital user V)".
func DescribeApp(app AppSession, quote func(string) string) string {
	if !app.SignedIn {
		return "signed out"
	}
	s := "signed in as " + quote(app.AppUserID)
	if app.VitalUserID != "" {
		s += " (Vital user " + quote(app.VitalUserID) + ")"
	}
	return s
}

// DescribeSDK describes an observation's SDK: its status and user.
func DescribeSDK(o Observation, quote func(string) string) string {
	s := quote(o.SDK.Status.String())
	if o.SDK.CurrentUserID != "" {
		s += " user " + quote(o.SDK.CurrentUserID)
	}
	return s
}

// DescribePlan is a plan's actions, each through quote, as Plan.String
// writes them.
func DescribePlan(p Plan, quote func(string) string) string {
	if len(p.Actions) == 0 {
		return p.String() // "(nothing)" or "(wait until …)": no outside values
	}
	parts := make([]string, len(p.Actions))
	for i, a := range p.Actions {
		parts[i] = quote(a.String())
	}
	return strings.Join(parts, ", ")
}

// WritePlanTable writes an observation's classification and plan as a
// table: profile, app, SDK, observed state, discrepancy, the numbered
// actions and the retry time.
func WritePlanTable(w io.Writer, o *Observation, p Plan, quote func(string) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "profile\t%s\n", quote(o.Profile.Name))
	fmt.Fprintf(tw, "app\t%s\n", DescribeApp(o.App, quote))
	fmt.Fprintf(tw, "sdk\t%s\n", DescribeSDK(*o, quote))
	fmt.Fprintf(tw, "observed\t%s\n", cmp.Or(quote(string(p.Observed)), "-"))
	fmt.Fprintf(tw, "discrepancy\t%s\n", quote(string(p.Discrepancy)))
	if len(p.Actions) == 0 {
		fmt.Fprintf(tw, "actions\t(none)\n")
	}
	for i, a := range p.Actions {
		label := ""
		if i == 0 {
			label = "actions"
		}
		fmt.Fprintf(tw, "%s\t%d. %s\n", label, i+1, quote(a.String()))
	}
	retry := "-"
	if !p.RetryAt.IsZero() {
		retry = p.RetryAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	fmt.Fprintf(tw, "retry at\t%s\n", retry)
	return tw.Flush()
}
