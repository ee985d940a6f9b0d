package simulations

import (
	"context"
	"testing"
)

// BenchmarkSimulatedLaunch measures one simulated launch of the engine in
// a fleet: the fleet's cost per launch, with the world's bookkeeping
// (schedules, judgements, invariants). "quiet" runs without faults (app
// users still sign in, out and switch); "swarm" with every fault class at
// the seed's rates.
func BenchmarkSimulatedLaunch(b *testing.B) {
	for _, bc := range []struct {
		name   string
		faults []Fault
	}{{"quiet", []Fault{}}, {"swarm", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			const launches = 50
			installs := max(1, b.N/launches)
			b.ReportAllocs()
			b.ResetTimer()
			rep, err := Run(context.Background(), Config{Seed: 1, Installs: installs, Launches: launches,
				Faults: bc.faults, Strategies: []Strategy{Engine{}}})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if n := rep.Strategies[0].LaunchCount; n > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/simulated-launch")
			}
		})
	}
}
