package emulatortest

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Load runs op(0..n-1) from workers goroutines and returns the sorted
// latencies and the wall time. Any error fails the test.
func Load(t testing.TB, n, workers int, op func(i int) error) ([]time.Duration, time.Duration) {
	t.Helper()
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				errs[i] = op(i)
				lat[i] = time.Since(t0)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(began)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	slices.Sort(lat)
	return lat, wall
}

// LogLoad logs what Load measured: the rate and the p50, p99 and maximum
// latencies.
func LogLoad(t testing.TB, what string, workers int, lat []time.Duration, wall time.Duration) {
	t.Helper()
	n := len(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(n)*p+0.999999)-1] }
	t.Logf("%s: %d requests, %d workers: %v, %.0f/s, p50 %v, p99 %v, max %v", what, n, workers,
		wall.Round(time.Millisecond), float64(n)/wall.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[n-1].Round(10*time.Microsecond))
}
