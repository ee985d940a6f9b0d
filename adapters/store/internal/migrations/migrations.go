// Package migrations loads a store's embedded schema migrations: files
// named N_description.sql, applied in order, version N by file N.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one embedded schema step.
type Migration struct {
	Version int
	Name    string // the file's base name
	SQL     string
}

// Load reads the files matching the patterns in fsys (for example
// "migrations/*.sql"), in the patterns' order and by name within each, which
// must be numbered 1, 2, … without gaps across all of them: a store whose
// kinds of file share their first migrations and then diverge passes the
// shared pattern and then its kind's.
func Load(fsys fs.FS, patterns ...string) ([]Migration, error) {
	var migs []Migration
	for _, pattern := range patterns {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		for _, name := range names {
			base := path.Base(name)
			num, _, ok := strings.Cut(base, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v != len(migs)+1 {
				return nil, fmt.Errorf("migration %s out of sequence", base)
			}
			text, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, err
			}
			migs = append(migs, Migration{Version: v, Name: base, SQL: string(text)})
		}
	}
	return migs, nil
}
