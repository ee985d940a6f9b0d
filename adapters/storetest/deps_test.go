package storetest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const adapters = "github.com/vitalsync/vitalsync/adapters/"

// adapterImports returns the adapters that the non-test files of the
// package in dir import, by name (e.g. "junction").
func adapterImports(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
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
			path, _ := strconv.Unquote(imp.Path.Value)
			if name, ok := strings.CutPrefix(path, adapters); ok {
				got[name] = true
			}
		}
		checked++
	}
	if checked < 3 {
		t.Fatalf("%s: checked only %d files", dir, checked)
	}
	return got
}

// The consumers own their ports: vitalsdk and issuer reach other adapters
// only for wire types (junction), never a store; the storage adapters
// import the consumers whose interfaces they implement.
func TestStorageDependsOnConsumers(t *testing.T) {
	for _, consumer := range []string{"vitalsdk", "issuer"} {
		for name := range adapterImports(t, filepath.Join("..", consumer)) {
			if name != "junction" {
				t.Errorf("%s imports adapters/%s: a consumer declares its store and imports none", consumer, name)
			}
		}
	}
	for _, store := range []string{"sqlite", "memory"} {
		got := adapterImports(t, filepath.Join("..", store))
		for _, consumer := range []string{"vitalsdk", "issuer"} {
			if !got[consumer] {
				t.Errorf("%s does not import adapters/%s, whose store it implements", store, consumer)
			}
		}
	}
}
