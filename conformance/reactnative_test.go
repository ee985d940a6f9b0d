package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// The React Native engine (clients/react-native, TypeScript) behind its
// Node entry passes what the Go engine passes, case for case, in every
// suite: the planner vectors, the runner transcripts, the crashes and the
// fleet. It is built with the package's pinned TypeScript first.
func TestReactNativeEngineMatchesTheGoEngine(t *testing.T) {
	node, npm := lookTool(t, "node"), lookTool(t, "npm")
	pkg, err := filepath.Abs("../clients/react-native")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(pkg, "node_modules", ".package-lock.json")); err != nil {
		npmRun(t, pkg, npm, "ci", "--no-audit", "--no-fund")
	}
	npmRun(t, pkg, npm, "run", "build")

	rn := run(t, Config{Engine: []string{node, filepath.Join(pkg, "dist", "engine", "engine.js")}})
	require.Equal(t, "vitalsync-react-native", rn.Engine.Name)
	goRun := run(t, Config{Engine: []string{goEngine}})
	require.Equal(t, caseNames(goRun, ""), caseNames(rn, ""), "the two engines ran different cases")
	require.Equal(t, caseNames(goRun, StatusPass), caseNames(rn, StatusPass), "the React Native engine passes other cases than the Go engine")
	for _, s := range Suites() {
		n := 0
		for _, c := range rn.Cases {
			if c.Suite == s {
				n++
			}
		}
		require.NotZero(t, n, "suite %s ran no case", s)
	}
	for _, f := range failures(goRun) {
		t.Logf("fails for both engines: %s %s", f.Suite, f.Name)
	}
}

// caseNames lists the suite and name of the cases with status (every case
// for ""), sorted.
func caseNames(sum *Summary, status string) []string {
	var out []string
	for _, c := range sum.Cases {
		if status == "" || c.Status == status {
			out = append(out, c.Suite+" "+c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// lookTool finds a tool on PATH; without it the test skips with one line,
// and fails under CI.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (CI is set)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func npmRun(t *testing.T, dir, npm string, args ...string) {
	t.Helper()
	cmd := exec.Command(npm, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm %v in %s:\n%s", args, dir, out)
}
