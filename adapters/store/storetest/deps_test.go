package storetest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/vitalsync/vitalsync/"

// root is the module's root, from this package's directory.
var root = filepath.Join("..", "..", "..")

// projectImports returns the module's packages that the non-test files of
// the package at path (module-relative, e.g. "adapters/vitalsdk") import,
// by module-relative path (e.g. "adapters/junction").
func projectImports(t *testing.T, path string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, path, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if name, ok := strings.CutPrefix(p, module); ok {
				got[name] = true
			}
		}
		checked++
	}
	if checked < 3 {
		t.Fatalf("%s: checked only %d files", path, checked)
	}
	return got
}

// The consumers own their ports: vitalsdk and issuer import no store (nor
// the composition); the storage adapters import the consumers whose
// interfaces they implement.
func TestStorageDependsOnConsumers(t *testing.T) {
	for _, consumer := range []string{"adapters/vitalsdk", "issuer"} {
		for name := range projectImports(t, consumer) {
			if strings.HasPrefix(name, "adapters/store/") || name == "installation" {
				t.Errorf("%s imports %s: a consumer declares its store and imports none", consumer, name)
			}
		}
	}
	for _, store := range []string{"adapters/store/sqlite", "adapters/store/memory"} {
		got := projectImports(t, store)
		for _, consumer := range []string{"adapters/vitalsdk", "issuer"} {
			if !got[consumer] {
				t.Errorf("%s does not import %s, whose store it implements", store, consumer)
			}
		}
	}
}
