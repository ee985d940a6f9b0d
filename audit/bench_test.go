package audit_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/audit"
)

var long = flag.Bool("long", false, "run the 10^7-row audits")

// cycle is a reader that repeats data n times: a file of n×rows rows
// without the disk.
type cycle struct {
	data []byte
	n    int
	r    *bytes.Reader
}

func (c *cycle) Read(p []byte) (int, error) {
	for {
		if c.r != nil && c.r.Len() > 0 {
			return c.r.Read(p)
		}
		if c.n == 0 {
			return 0, io.EOF
		}
		c.n--
		c.r = bytes.NewReader(c.data)
	}
}

// repeated is a CSV source of times copies of the body of csvData under one header.
func repeated(csvData []byte, times int) audit.Source {
	header, body, _ := bytes.Cut(csvData, []byte("\n"))
	return audit.CSVSource{Label: "fleet.csv", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(append(header, '\n')), &cycle{data: body, n: times})), nil
	}}
}

// BenchmarkAuditCSV: rows per second from CSV, 10^5 distinct rows a pass,
// on GOMAXPROCS workers; BenchmarkAuditCSVOneWorker on one.
func BenchmarkAuditCSV(b *testing.B) { benchAuditCSV(b, 0) }

func BenchmarkAuditCSVOneWorker(b *testing.B) { benchAuditCSV(b, 1) }

func benchAuditCSV(b *testing.B, workers int) {
	csvData := csvFleet(b, 100000, 11)
	b.SetBytes(int64(len(csvData)))
	o := truthOptions()
	o.Workers = workers
	b.ResetTimer()
	var rows int64
	start := time.Now()
	for b.Loop() {
		s, err := audit.Run(context.Background(), repeated(csvData, 1), nil, o)
		if err != nil {
			b.Fatal(err)
		}
		rows += s.Rows
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

// liveHeap collects and returns the heap the collection marked live.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapAfter audits rows rows (distinct 10^5 repeated) and returns the peak
// live heap above the test's own, sampled (as a collection marks it) every
// few milliseconds while the audit runs.
func heapAfter(t *testing.T, csvData []byte, times int) (peak uint64, rows int64) {
	base := liveHeap()
	stop, sampled := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				sampled <- peak
				return
			case <-tick.C:
				peak = max(peak, liveHeap())
			}
		}
	}()
	var findings int
	// The file repeats its installations: the duplicate check's set stays
	// at one fleet's size. What is measured is the audit's own heap.
	s, err := audit.Run(context.Background(), repeated(csvData, times), func(*audit.Finding) error { findings++; return nil }, truthOptions())
	close(stop)
	peak = <-sampled
	require.NoError(t, err)
	return peak - min(peak, base), s.Rows
}

// csvFleet generates n rows as CSV only.
func csvFleet(t testing.TB, n int, seed uint64) []byte {
	var c bytes.Buffer
	cw := audit.NewCSVWriter(&c)
	_, err := audit.GenerateFleet(audit.FleetOptions{Installs: n, Seed: seed, Now: fleetNow}, cw.Write)
	require.NoError(t, err)
	require.NoError(t, cw.Flush())
	return c.Bytes()
}

// The audit's heap (above what the test holds) stays flat from 10^5 to
// 10^6 rows (10^7 with -long), below 50 MiB.
func TestHeapFlat(t *testing.T) {
	csvData := csvFleet(t, 100000, 5)
	small, rows := heapAfter(t, csvData, 1)
	require.Equal(t, int64(100000), rows)
	times := 10
	if *long {
		times = 100
	}
	big, rows := heapAfter(t, csvData, times)
	require.Equal(t, int64(100000*times), rows)
	t.Logf("audit's peak live heap: %.1f MiB at 10^5 rows, %.1f MiB at %d rows", float64(small)/(1<<20), float64(big)/(1<<20), rows)
	require.Less(t, big, uint64(50<<20))
	// The read buffers (a few MiB) are all the audit holds. A sample also
	// counts what the workers allocate while a collection marks (a few MiB
	// on a busy machine); remembering as little as an installation ID per
	// row would add tens of MiB at 10^6 rows.
	require.Less(t, big, small+8<<20, "heap grew with the rows")
}

// cpuTime is the process's user and system time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCSVRate10M (-long) audits 10^7 rows from a CSV file on disk and logs
// the rate.
func TestCSVRate10M(t *testing.T) {
	if !*long {
		t.Skip("-long")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := audit.NewCSVWriter(f)
	_, err = audit.GenerateFleet(audit.FleetOptions{Installs: 10_000_000, Seed: 1, Now: fleetNow}, w.Write)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	src := audit.CSVSource{Label: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
	for range 2 { // the first run warms the page cache
		cpu0 := cpuTime(t)
		s, err := audit.Run(context.Background(), src, nil, truthOptions())
		require.NoError(t, err)
		cpu := cpuTime(t) - cpu0
		t.Logf("%d rows in %.2f s: %.0f rows/s (GOMAXPROCS %d); CPU %.2f s: %.0f rows per CPU-second",
			s.Rows, s.Seconds, s.RowsPerSecond, runtime.GOMAXPROCS(0), cpu.Seconds(), float64(s.Rows)/cpu.Seconds())
	}
}
