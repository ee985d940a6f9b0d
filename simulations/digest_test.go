package simulations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

var updateDigests = flag.Bool("update-digests", false, "rewrite testdata/report-digests.txt from this code's reports")

// digestRuns are small fleets whose reports testdata/report-digests.txt
// pins: every strategy, the seed's swarm and every fault class, a few
// installations on SQLite.
var digestRuns = []struct {
	name string
	cfg  Config
}{
	{"seed-1-swarm", Config{Seed: 1, Installs: 60, Launches: 30, SQLiteFraction: 0.05}},
	{"seed-3-swarm", Config{Seed: 3, Installs: 60, Launches: 30, SQLiteFraction: 0.05}},
	{"seed-2-all-faults", Config{Seed: 2, Installs: 60, Launches: 30, NoSwarm: true, SQLiteFraction: 0.05}},
}

func reportDigest(t *testing.T, cfg Config) string {
	t.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestReportDigests holds the reports of small fleets to the bytes the
// code gave when the digests were written: a change meant only to make the
// simulator faster must not move any result. A change that is meant to
// change results (the engine, a strategy, the world) rewrites them with
// `go test ./simulations -run TestReportDigests -update-digests`, and says
// so in its commit.
func TestReportDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three small fleets")
	}
	path := filepath.Join("testdata", "report-digests.txt")
	var lines []string
	for _, r := range digestRuns {
		lines = append(lines, r.name+" "+reportDigest(t, r.cfg))
	}
	got := strings.Join(lines, "\n") + "\n"
	if *updateDigests {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the reports moved (if the change means to change results, rerun with -update-digests):\ngot\n%swant\n%s", got, want)
	}
}

// TestReportSameOnOneCore runs a fleet with every strategy side by side and
// again with one strategy at a time: how the loops share the cores must not
// change a byte of the report.
func TestReportSameOnOneCore(t *testing.T) {
	cfg := Config{Seed: 4, Installs: 30, Launches: 20, NoSwarm: true}
	side, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(side)
	b, _ := json.Marshal(one)
	if string(a) != string(b) {
		t.Errorf("the report depends on the cores:\nside by side %s\none at a time %s", a, b)
	}
}

// TestLongestFirst: the costliest loops start first, others keep their
// order after the known ones.
func TestLongestFirst(t *testing.T) {
	type custom struct{ Engine }
	got := longestFirst([]Strategy{Engine{}, custom{}, DocsRecipe{}, Identify{}, EveryLaunch{}})
	if want := []int{4, 2, 0, 3, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("longestFirst = %v, want %v", got, want)
	}
}
