package simulations

import (
	"context"
	"testing"
)

// BenchmarkSimulatedLaunch measures one simulated launch of the engine in
// a fleet: the fleet's cost per launch, with the world's bookkeeping
// (schedules, judgements, invariants). "quiet" runs the engine without
// faults (app users still sign in, out and switch); "swarm" with the fault
// classes the seed's swarm turns on, at its rates; "all-faults" every fault
// class on, under all four strategies; "all-faults/<strategy>" the same
// under one strategy alone, whose loop is one core's work in a run (Run
// runs the strategies side by side, the costliest first: the longest one
// bounds a run's wall time); "cli" is `vitalsync simulate --no-swarm` as
// the command runs it: every fault class, all four strategies, 1 % of the
// installations on real SQLite files.
func BenchmarkSimulatedLaunch(b *testing.B) {
	type bench struct {
		name       string
		faults     []Fault
		all        bool
		strategies []Strategy
		sqlite     float64
	}
	cases := []bench{{"quiet", []Fault{}, false, []Strategy{Engine{}}, 0}, {"swarm", nil, false, []Strategy{Engine{}}, 0},
		{"all-faults", nil, true, Strategies(), 0}, {"cli", nil, true, Strategies(), 0.01}}
	for _, s := range Strategies() {
		cases = append(cases, bench{"all-faults/" + s.Name(), nil, true, []Strategy{s}, 0})
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			const launches = 50
			installs := max(1, b.N/launches/len(bc.strategies))
			b.ReportAllocs()
			b.ResetTimer()
			rep, err := Run(context.Background(), Config{Seed: 1, Installs: installs, Launches: launches,
				Faults: bc.faults, NoSwarm: bc.all, Strategies: bc.strategies, SQLiteFraction: bc.sqlite})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			n := 0
			for _, s := range rep.Strategies {
				n += s.LaunchCount
			}
			if n > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/simulated-launch")
			}
			if bc.sqlite > 0 {
				b.ReportMetric(float64(SigningKeyBits()), "key-bits")
			}
		})
	}
}
