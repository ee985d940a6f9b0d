package reconcile

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbidden are imports the pure core must not have: IO, the wall clock's
// host, global randomness, and any adapter.
var forbidden = []string{"net/http", "database/sql", "os", "os/exec", "math/rand", "net", "io/fs", "log"}

// plannerOnly are further imports the planner and fsm must not have: they
// log nothing and wait for nothing. The runner may.
var plannerOnly = []string{"log/slog", "sync"}

func isForbidden(path string) bool {
	for _, f := range forbidden {
		if path == f {
			return true
		}
	}
	return strings.Contains(path, "/adapters/") || strings.HasSuffix(path, "/cmd/vitalsync")
}

// coreFiles returns the non-test Go files of fsm and reconcile.
func coreFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../fsm/*.go", "*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	return files
}

// TestPureCoreImports: fsm and the planner import no IO package, and the
// runner (runner*.go) reaches IO only through the interfaces it declares.
func TestPureCoreImports(t *testing.T) {
	checked := 0
	for _, f := range coreFiles(t) {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if isForbidden(path) {
				t.Errorf("%s imports %s: the pure core does no IO", f, path)
			}
			if !strings.HasPrefix(filepath.Base(f), "runner") {
				for _, p := range plannerOnly {
					if path == p {
						t.Errorf("%s imports %s: the planner is a pure function", f, path)
					}
				}
			}
		}
		checked++
	}
	if checked < 8 {
		t.Fatalf("checked only %d files: the globs are wrong", checked)
	}
}

func TestForbiddenListCatchesAdapters(t *testing.T) {
	for _, p := range []string{"net/http", "database/sql", "os", "math/rand",
		"github.com/vitalsync/vitalsync/adapters/store/sqlite"} {
		if !isForbidden(p) {
			t.Errorf("isForbidden(%q) = false", p)
		}
	}
	for _, p := range []string{"time", "context", "math/rand/v2", "github.com/vitalsync/vitalsync/fsm"} {
		if isForbidden(p) {
			t.Errorf("isForbidden(%q) = true", p)
		}
	}
}

// TestPureCoreReadsNoClock: neither fsm nor reconcile (runner included)
// reads the wall clock or sleeps: time is injected (Config.Now,
// Observation.Now).
func TestPureCoreReadsNoClock(t *testing.T) {
	banned := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true}
	for _, f := range coreFiles(t) {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && banned[sel.Sel.Name] {
				t.Errorf("%s calls time.%s: the core's time is injected", f, sel.Sel.Name)
			}
			return true
		})
	}
}
