package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// headerSize is the size of the SQLite file header (page 1's first bytes).
const headerSize = 100

// fileState is what validate learned about an existing file.
type fileState struct {
	empty   bool // no database yet (0 bytes): Open initialises it
	version int  // PRAGMA user_version
	sealed  bool // a table holds a sealed value (any non-NULL BLOB)
}

// validate checks an existing file without modifying it, cheaply enough for
// every open: the header, then, through a read-only connection, the schema
// version and the schema itself (sqlite_schema) against the one the
// migrations up to that version create. Only when the schema differs does
// it run PRAGMA quick_check, to tell damage from a foreign schema; a full
// check of every page is Inspect's.
//
// keyFile says a key file exists beside the database: an empty file is then
// a truncated database (ErrCorrupt), not a new one.
//
// The one change validate makes is SQLite's own recovery: a hot rollback
// journal (left by a process killed while it switched a new file to WAL)
// cannot be rolled back by a read-only connection, so validate rolls it back
// through a read-write one, as any read-write opener would, and checks
// again. A file that this leaves empty was never created, key file or not.
// A file without a rollback journal beside it is never changed.
func validate(ctx context.Context, path string, kind Kind, migs []migration, keyFile bool) (fileState, error) {
	st, err := validateOnce(ctx, path, kind, migs, keyFile, false)
	if !needsRollback(path, err) {
		return st, err
	}
	if err := rollbackHotJournal(ctx, path); err != nil {
		return fileState{}, classify(err)
	}
	return validateOnce(ctx, path, kind, migs, false, true)
}

// journalMagic starts every SQLite rollback journal's header.
var journalMagic = []byte{0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7}

// needsRollback reports whether validateOnce's err comes from a hot
// journal: SQLite says so (SQLITE_READONLY_ROLLBACK), or the header does not
// look like SQLite's while a rollback journal lies beside the file (a
// transaction that spilled pages before writing page 1: SQLite rolls the
// journal back before it reads the header).
func needsRollback(path string, err error) bool {
	var se sqlite3.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &se):
		return se.ExtendedCode == sqlite3.ErrReadonlyRollback
	case !errors.Is(err, ErrNotDatabase) && !errors.Is(err, ErrCorrupt):
		return false
	}
	f, ferr := os.Open(path + "-journal")
	if ferr != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(journalMagic))
	_, ferr = io.ReadFull(f, head)
	return ferr == nil && bytes.Equal(head, journalMagic)
}

// rollbackHotJournal opens path read-write, without changing its journal
// mode, and reads it: SQLite rolls a hot journal back before the first read.
func rollbackHotJournal(ctx context.Context, path string) error {
	rw, err := sql.Open("sqlite3", fileURI(path)+"?mode=rw&_busy_timeout="+
		strconv.Itoa(int(busyTimeout/time.Millisecond)))
	if err != nil {
		return err
	}
	defer rw.Close()
	rw.SetMaxOpenConns(1)
	var n int
	return rw.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n)
}

func validateOnce(ctx context.Context, path string, kind Kind, migs []migration, keyFile, allowEmpty bool) (fileState, error) {
	var st fileState
	size, err := checkHeader(path)
	if err != nil {
		return st, err
	}
	if size == 0 {
		if !allowEmpty {
			return st, ErrEmptyFile
		}
		st.empty = true
		return st, nil
	}

	ro, err := openReadOnly(path)
	if err != nil {
		return st, err
	}
	defer ro.Close()
	// One read transaction: the version and the schema come from one
	// snapshot, even while another process migrates the file.
	tx, err := ro.BeginTx(ctx, nil)
	if err != nil {
		return st, classify(err)
	}
	defer tx.Rollback()
	if st.version, err = schemaVersion(ctx, tx, len(migs)); err != nil {
		return st, err
	}
	if testHookAfterVersion != nil {
		testHookAfterVersion()
	}
	legacy, err := checkKind(ctx, tx, kind, st.version)
	if err != nil {
		return st, err
	}
	if err := checkSchema(ctx, tx, migs[:st.version]); err != nil {
		return st, err
	}
	if legacy {
		if err := checkHalves(ctx, tx, kind); err != nil {
			return st, err
		}
	}
	if !keyFile {
		if st.sealed, err = holdsSealed(ctx, tx); err != nil {
			return st, classify(err)
		}
	}
	return st, nil
}

// testHookAfterVersion, when set by a test, runs between validateOnce's
// reads of the schema version and of the schema.
var testHookAfterVersion func()

// queryer is what the checks read through: a *sql.DB, or a *sql.Tx that
// keeps their reads in one snapshot.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkHeader reads the file's header and returns the file's size. A file
// that does not start with SQLite's magic string is ErrNotDatabase; one
// whose header is cut short or holds values SQLite never writes (page size,
// payload fractions) is ErrCorrupt. An empty file has size 0 and no error.
func checkHeader(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	header := make([]byte, headerSize)
	n, err := io.ReadFull(f, header)
	switch {
	case n == 0 && err == io.EOF:
		return 0, nil
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return 0, err
	case n < len(sqliteHeader) || string(header[:len(sqliteHeader)]) != string(sqliteHeader):
		return 0, ErrNotDatabase
	case n < headerSize:
		return 0, fmt.Errorf("%w: header cut short (%d bytes)", ErrCorrupt, n)
	}
	pageSize := int(binary.BigEndian.Uint16(header[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return 0, fmt.Errorf("%w: page size %d in the header", ErrCorrupt, pageSize)
	}
	if header[21] != 64 || header[22] != 32 || header[23] != 32 {
		return 0, fmt.Errorf("%w: payload fractions in the header", ErrCorrupt)
	}
	if err := checkHeaderFields(header); err != nil {
		return 0, err
	}
	// The size against the page count, only while no process uses the file
	// (no WAL or rollback journal beside it): a checkpoint in progress may
	// write the header before the pages that extend the file.
	if !exists(path+"-wal") && !exists(path+"-journal") {
		size := fi.Size()
		pages := int64(binary.BigEndian.Uint32(header[28:32]))
		valid := binary.BigEndian.Uint32(header[24:28]) == binary.BigEndian.Uint32(header[92:96])
		switch {
		case size%int64(pageSize) != 0:
			return 0, fmt.Errorf("%w: the file's %d bytes are not whole pages of %d bytes (cut short?)", ErrCorrupt, size, pageSize)
		case valid && pages > 0 && size < pages*int64(pageSize):
			return 0, fmt.Errorf("%w: the file holds %d pages, its header says %d (cut short)", ErrCorrupt, size/int64(pageSize), pages)
		}
	}
	return fi.Size(), nil
}

// checkHeaderFields checks the header's fixed fields against what SQLite
// writes, and what this package's files hold (no reserved bytes per page,
// no auto-vacuum): a flipped byte there is damage, found before SQLite
// reads a page on its word.
func checkHeaderFields(h []byte) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s in the header", ErrCorrupt, what) }
	switch {
	case h[18] != 1 && h[18] != 2:
		return bad(fmt.Sprintf("file format write version %d", h[18]))
	case h[19] != 1 && h[19] != 2:
		return bad(fmt.Sprintf("file format read version %d", h[19]))
	case h[20] != 0:
		return bad(fmt.Sprintf("%d reserved bytes per page", h[20]))
	}
	if f := binary.BigEndian.Uint32(h[44:48]); f > 4 {
		return bad(fmt.Sprintf("schema format %d", f))
	}
	if v := binary.BigEndian.Uint32(h[52:56]); v != 0 {
		return bad(fmt.Sprintf("auto-vacuum root page %d", v))
	}
	if e := binary.BigEndian.Uint32(h[56:60]); e > 3 {
		return bad(fmt.Sprintf("text encoding %d", e))
	}
	if v := binary.BigEndian.Uint32(h[64:68]); v != 0 {
		return bad("incremental vacuum flag")
	}
	for _, b := range h[72:92] {
		if b != 0 {
			return bad("a byte of the space reserved for expansion")
		}
	}
	return nil
}

// openReadOnly opens one read-only connection on path. Without a WAL or
// rollback journal beside it, no process is using the file: it is read as
// immutable, so that not even the -wal and -shm files a read-only WAL reader
// needs are created. Otherwise it reads as a read-only client of those that
// are.
func openReadOnly(path string) (*sql.DB, error) {
	dsn := fileURI(path) + "?mode=ro&_busy_timeout=" + strconv.Itoa(int(busyTimeout/time.Millisecond))
	if !exists(path+"-wal") && !exists(path+"-journal") {
		dsn += "&immutable=1"
	}
	ro, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	ro.SetMaxOpenConns(1)
	return ro, nil
}

// schemaVersion reads PRAGMA user_version: below zero is ErrCorrupt (no
// version of this package writes it), above known ErrNewerSchema.
func schemaVersion(ctx context.Context, ro queryer, known int) (int, error) {
	var version int
	if err := ro.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, classify(err)
	}
	if version < 0 {
		return 0, fmt.Errorf("%w: schema version %d", ErrCorrupt, version)
	}
	if version > known {
		return 0, ErrNewerSchema
	}
	return version, nil
}

// checkSchema compares the file's schema with the one migs create. When
// they differ it runs PRAGMA quick_check: either way the file is ErrCorrupt,
// and the message says whether its pages are damaged or its schema is not
// one of ours.
func checkSchema(ctx context.Context, ro queryer, migs []migration) error {
	want, err := expectedSchema(ctx, migs)
	if err != nil {
		return err
	}
	got, err := readSchema(ctx, ro)
	if err == nil && slices.Equal(got, want) {
		return nil
	}
	problems, qerr := quickCheck(ctx, ro)
	switch {
	case qerr != nil:
		return qerr
	case len(problems) > 0:
		return fmt.Errorf("%w: %s", ErrCorrupt, problems[0])
	case err != nil:
		return classify(err)
	}
	return fmt.Errorf("%w: schema differs from version %d: %s", ErrCorrupt, len(migs), schemaDiff(got, want))
}

// schemaObject is one row of sqlite_schema.
type schemaObject struct {
	Type, Name, Table, SQL string
}

// schemaQuery lists a database's schema in a stable order, leaving out the
// statistics tables ANALYZE may add.
const schemaQuery = `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema
	WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name`

func readSchema(ctx context.Context, conn queryer) ([]schemaObject, error) {
	rows, err := conn.QueryContext(ctx, schemaQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objs []schemaObject
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.Type, &o.Name, &o.Table, &o.SQL); err != nil {
			return nil, err
		}
		o.SQL = normalizeSQL(o.SQL)
		objs = append(objs, o)
	}
	return objs, rows.Err()
}

// normalizeSQL reduces a statement's text as sqlite_schema keeps it to its
// tokens: comments dropped, every run of white space one space, none next
// to parentheses and commas, so that a migration re-indented or commented
// differently still matches the files it created.
func normalizeSQL(stmt string) string {
	var b strings.Builder
	b.Grow(len(stmt))
	space, last := false, byte(0)
	put := func(c byte) {
		if space && last != 0 && last != '(' && last != ',' && c != '(' && c != ')' && c != ',' {
			b.WriteByte(' ')
		}
		space, last = false, c
		b.WriteByte(c)
	}
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			// A quoted string or identifier is copied as it is.
			end := c
			if c == '[' {
				end = ']'
			}
			put(c)
			for i++; i < len(stmt); i++ {
				b.WriteByte(stmt[i])
				last = stmt[i]
				if stmt[i] == end {
					break
				}
			}
		case c == '-' && i+1 < len(stmt) && stmt[i+1] == '-':
			for i < len(stmt) && stmt[i] != '\n' {
				i++
			}
			space = true
		case c == '/' && i+1 < len(stmt) && stmt[i+1] == '*':
			if j := strings.Index(stmt[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(stmt)
			}
			space = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
		default:
			put(c)
		}
	}
	return b.String()
}

// expectedSchemas caches expectedSchema's answers by the last migration's
// name and the count.
var expectedSchemas sync.Map // string → []schemaObject

// schemaKey names a migration list for expectedSchemas: the kinds share
// their first versions and then diverge.
func schemaKey(migs []migration) string {
	if len(migs) == 0 {
		return "0"
	}
	return strconv.Itoa(len(migs)) + " " + migs[len(migs)-1].Name
}

// expectedSchema is the schema that migs create: they are applied to an
// in-memory database, so that the comparison follows every migration
// without a second description of the schema to keep in step.
func expectedSchema(ctx context.Context, migs []migration) ([]schemaObject, error) {
	if v, ok := expectedSchemas.Load(schemaKey(migs)); ok {
		return v.([]schemaObject), nil
	}
	mem, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	mem.SetMaxOpenConns(1)
	for _, m := range migs {
		if _, err := mem.ExecContext(ctx, m.SQL); err != nil {
			return nil, fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	objs, err := readSchema(ctx, mem)
	if err != nil {
		return nil, err
	}
	expectedSchemas.Store(schemaKey(migs), objs)
	return objs, nil
}

// schemaDiff names the first object that differs between got and want.
func schemaDiff(got, want []schemaObject) string {
	key := func(o schemaObject) string { return o.Type + " " + o.Name }
	have := make(map[string]schemaObject, len(got))
	for _, o := range got {
		have[key(o)] = o
	}
	for _, w := range want {
		g, ok := have[key(w)]
		switch {
		case !ok:
			return key(w) + " is missing"
		case g != w:
			return key(w) + " is defined differently"
		}
		delete(have, key(w))
	}
	for _, g := range got {
		if _, extra := have[key(g)]; extra {
			return key(g) + " is not part of the schema"
		}
	}
	return "no difference"
}

// quickCheck runs PRAGMA quick_check and returns its problems (none: "ok").
func quickCheck(ctx context.Context, conn queryer) ([]string, error) {
	return integrityRows(ctx, conn, "PRAGMA quick_check")
}

// integrityRows runs an integrity pragma and returns its lines other than
// "ok".
func integrityRows(ctx context.Context, conn queryer, pragma string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, pragma)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return nil, classify(err)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return problems, nil
}

// holdsSealed reports whether any table holds a sealed value: sealed values
// are the only BLOBs the schema stores, so any non-NULL value in a BLOB
// column counts, whichever migration added the column.
func holdsSealed(ctx context.Context, conn queryer) (bool, error) {
	cols, err := blobColumns(ctx, conn)
	if err != nil {
		return false, err
	}
	for table, columns := range cols {
		conds := make([]string, len(columns))
		for i, c := range columns {
			conds[i] = quoteIdent(c) + " IS NOT NULL"
		}
		var found bool
		q := "SELECT EXISTS (SELECT 1 FROM " + quoteIdent(table) + " WHERE " + strings.Join(conds, " OR ") + ")"
		if err := conn.QueryRowContext(ctx, q).Scan(&found); err != nil {
			return false, err
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}

// blobColumns returns the BLOB columns of every table, by table.
func blobColumns(ctx context.Context, conn queryer) (map[string][]string, error) {
	rows, err := conn.QueryContext(ctx, `
		SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND upper(p.type) = 'BLOB'
		ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, err
		}
		cols[table] = append(cols[table], column)
	}
	return cols, rows.Err()
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
