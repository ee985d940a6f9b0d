package main

import (
	"context"
	"testing"

	"github.com/vitalsync/vitalsync/simulations"
)

// BenchmarkSimulate is `vitalsync simulate --no-swarm` as the command runs
// it (the RSA minimum lifted, so the 512-bit signing key): every fault
// class on, all four strategies side by side; the figure is per simulated
// launch of any strategy.
func BenchmarkSimulate(b *testing.B) {
	defer simulations.RelaxRSAMinimum()()
	const launches = 50
	installs := max(1, b.N/launches/len(simulations.Strategies()))
	b.ReportAllocs()
	b.ResetTimer()
	rep, err := simulations.Run(context.Background(), simulations.Config{Seed: 1, Installs: installs,
		Launches: launches, NoSwarm: true, SQLiteFraction: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	n := 0
	for _, s := range rep.Strategies {
		n += s.LaunchCount
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/simulated-launch")
	b.ReportMetric(float64(simulations.SigningKeyBits()), "key-bits")
}
