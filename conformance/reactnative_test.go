package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The React Native engine (clients/react-native, TypeScript) behind its
// Node entry passes every suite, as the Go engine does: the planner vectors,
// the runner transcripts, the crashes and the fleet. It is built with the
// package's pinned TypeScript first.
func TestReactNativeEnginePassesEverySuite(t *testing.T) {
	node, npm := lookTool(t, "node"), lookTool(t, "npm")
	pkg, err := filepath.Abs("../clients/react-native")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(pkg, "node_modules", ".package-lock.json")); err != nil {
		npmRun(t, pkg, npm, "ci", "--no-audit", "--no-fund")
	}
	npmRun(t, pkg, npm, "run", "build")

	sum := run(t, Config{Engine: []string{node, filepath.Join(pkg, "dist", "engine", "engine.js")}})
	require.Equal(t, "vitalsync-react-native", sum.Engine.Name)
	for _, f := range failures(sum) {
		t.Errorf("%s %s %s\n%s", f.Status, f.Suite, f.Name, f.Detail)
	}
	require.True(t, sum.OK(false))
	requireEveryCaseRan(t, sum)
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
