package simulations

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// ReportColumns are the columns of a report's CSV (WriteReportCSV), one
// row per strategy; the table (WriteReportTable) shows the same values.
var ReportColumns = []string{"strategy", "consistent_pct", "launches_to_converge_p50", "launches_to_converge_p99",
	"seconds_to_converge_p50", "seconds_to_converge_p99", "wrong_user_seconds", "wrong_user_after_crash_seconds",
	"wrong_user_worst_install_seconds", "data_gap_seconds", "needless_sign_outs", "mints_per_1000_launches",
	"network_calls_per_launch", "rate_limited_429s", "violations"}

// num prints x in plain decimals: an integer as an integer, never with an
// exponent.
func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// secs prints a sum of virtual seconds as whole seconds.
func secs(x float64) string { return num(math.Round(x)) }

func reportRow(s StrategyStats) []string {
	return []string{s.Name, num(s.ConsistentPct), num(s.LaunchesToConvergeP50), num(s.LaunchesToConvergeP99),
		secs(s.SecondsToConvergeP50), secs(s.SecondsToConvergeP99), secs(s.WrongUserSeconds), secs(s.WrongUserAfterCrashSeconds),
		secs(s.WrongUserWorstInstallSeconds), secs(s.DataGapSeconds), strconv.Itoa(s.NeedlessSignOuts), num(s.MintsPer1000Launches),
		num(s.NetworkCallsPerLaunch), strconv.Itoa(s.RateLimited), strconv.Itoa(s.ViolationCount)}
}

// WriteReportCSV writes a report as CSV: ReportColumns, then a row per
// strategy.
func WriteReportCSV(w io.Writer, rep *FleetReport) error {
	cw := csv.NewWriter(w)
	cw.Write(ReportColumns)
	for _, s := range rep.Strategies {
		cw.Write(reportRow(s))
	}
	cw.Flush()
	return cw.Error()
}

// WriteReportTable writes a report for people: the run, a row per
// strategy, a row per strategy and starting profile, then the invariants
// each strategy broke (a FAILURE for the engine, a finding for the
// others) and what the run did not cover.
func WriteReportTable(w io.Writer, rep *FleetReport) error {
	fmt.Fprintf(w, "seed %d: %d installations × %d launches (+%d after faults stop); faults on: %s\n\n",
		rep.Seed, rep.Installs, rep.Launches, TailLaunches, orDash(joinFaults(rep.Coverage.Enabled)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tconsistent %\tlaunches to converge p50/p99\tseconds to converge p50/p99\twrong-user s (after a crash)\tworst installation\tdata-gap s\tneedless sign-outs\tmints/1000 launches\tcalls/launch\t429s\tviolations\t")
	for _, s := range rep.Strategies {
		r := reportRow(s)
		fmt.Fprintf(tw, "%s\t%s\t%s / %s\t%s / %s\t%s (%s)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r[0], r[1], r[2], r[3], r[4], r[5],
			r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nby the profile an installation started on:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tprofile\tinstallations\tconsistent %\twrong-user s\tworst installation\tdata-gap s\tneedless sign-outs\tmints/1000 launches\tviolations\t")
	for _, s := range rep.Strategies {
		for _, p := range s.ByProfile {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t\n", s.Name, p.Profile, p.Installs, num(p.ConsistentPct),
				secs(p.WrongUserSeconds), secs(p.WrongUserWorstInstallSeconds), secs(p.DataGapSeconds), p.NeedlessSignOuts,
				num(p.MintsPer1000Launches), p.ViolationCount)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Strategies {
		if s.ViolationCount > 0 {
			writeViolations(w, s)
		}
	}
	fmt.Fprintln(w)
	if len(rep.Coverage.Missing) > 0 {
		fmt.Fprintf(w, "\nnot covered: %s\n", strings.Join(rep.Coverage.Missing, ", "))
	}
	return nil
}

// writeViolations says which invariants a strategy broke, each with its
// first installation.
func writeViolations(w io.Writer, s StrategyStats) {
	first := map[string]int{}
	var kinds []string
	for _, v := range s.Violations {
		if _, seen := first[v.Kind]; !seen {
			kinds = append(kinds, v.Kind)
			first[v.Kind] = v.Install
		}
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s (e.g. installation %d)", k, first[k])
	}
	label := "finding"
	if s.Name == (Engine{}).Name() {
		label = "FAILURE"
	}
	fmt.Fprintf(w, "\n%s: %s broke %d invariant(s): %s", label, s.Name, s.ViolationCount, strings.Join(parts, ", "))
}

func joinFaults(fs []Fault) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
