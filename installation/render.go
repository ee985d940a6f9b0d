package installation

import (
	"cmp"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vitalsync/vitalsync/reconcile"
)

// WriteLaunchTable writes a launch record for people (vitalsync launch and
// demo print it so): what the app and the SDK said, then each pass's plan
// and what the runner applied, the result, the state and the cost. quote is
// applied to every value from outside the process (IDs, errors, journal
// text), so that one holding a line break or a terminal escape cannot
// forge rows; the vitalsync command passes one that quotes such values.
func WriteLaunchTable(w io.Writer, r LaunchRecord, quote func(string) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	first := r.First()
	o := first.Observation
	fmt.Fprintf(tw, "  app\t%s\n", reconcile.DescribeApp(o.App, quote))
	fmt.Fprintf(tw, "  sdk\t%s → %s\n", reconcile.DescribeSDK(o, quote), cmp.Or(quote(string(first.Plan.Observed)), "-"))
	if r.Outcome.Interrupted != "" {
		fmt.Fprintf(tw, "  note\tthe previous launch died during %s\n", quote(r.Outcome.Interrupted))
	}
	for i, p := range r.Passes {
		if i > 0 && p.Plan.Empty() && p.Plan.RetryAt.IsZero() && !p.Plan.Terminal && p.Plan.Discrepancy == reconcile.Consistent {
			break // the closing check of a launch that acted: "now" says it
		}
		fmt.Fprintf(tw, "  plan\t%s [%s]\n", reconcile.DescribePlan(p.Plan, quote), quote(string(p.Plan.Discrepancy)))
		for _, st := range p.Applied {
			if st.Err != nil {
				fmt.Fprintf(tw, "  did\t%s — %s: %s\n", quote(st.Action.String()), st.Class, quote(st.Err.Error()))
			} else {
				fmt.Fprintf(tw, "  did\t%s\n", quote(st.Action.String()))
			}
		}
	}
	result := string(r.Outcome.Result)
	if r.Outcome.Error != "" {
		result += " — " + quote(r.Outcome.Error)
	}
	fmt.Fprintf(tw, "  result\t%s\n", result)
	if r.Outcome.Result == reconcile.ResultDeferred {
		fmt.Fprintf(tw, "  note\tdeferred: app and SDK disagree, but a backed-off retry is not due yet (--now tries at once)\n")
	}
	fmt.Fprintf(tw, "  now\t%s\n", cmp.Or(quote(r.Outcome.State), "-"))
	if d := r.Outcome.Divergence; d != nil {
		fmt.Fprintf(tw, "  warning\tthe SDK left the state machine: %s\n", d)
	}
	if r.Outcome.RetryAt != nil {
		fmt.Fprintf(tw, "  retry at\t%s\n", r.Outcome.RetryAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "  cost\t%d network calls, %d database writes, %d report calls\n", r.NetworkCalls, r.DBWrites, r.ReportCalls)
	return tw.Flush()
}
