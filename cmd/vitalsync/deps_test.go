package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestBinaryLinksNoTesting: the shipped binary links no testing package
// (the simulations' clock and transport are product code, package
// virtual, not the test kit's), as `go list -deps ./cmd/vitalsync` lists it.
func TestBinaryLinksNoTesting(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, serr := os.Stat(goTool); serr != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("the go tool is missing")
			}
			t.Skip("the go tool is missing")
		}
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !slices.Contains(deps, "github.com/vitalsync/vitalsync/reconcile") {
		t.Fatalf("go list -deps listed %d packages, not the binary's", len(deps))
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || (strings.HasSuffix(p, "test") && strings.Contains(p, "vitalsync/")) {
			t.Errorf("the binary links %s", p)
		}
	}
}
