package sqlite

import "github.com/mattn/go-sqlite3"

// DriverModule is the module of the database/sql driver the package opens
// its files with (cgo, linking SQLite's C source).
const DriverModule = "github.com/mattn/go-sqlite3"

// LibraryVersion is the version of the SQLite library linked in, e.g.
// "3.50.4".
func LibraryVersion() string {
	v, _, _ := sqlite3.Version()
	return v
}
