package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

// The reports table implements the issuer's report store.
var _ issuer.ReportStore = (*DB)(nil)

// reportsVersion is the schema version that added the reports table
// (migration 0002).
const reportsVersion = 2

// Errors of the reports.
var (
	// ErrOlderSchema means a database predates the installation reports:
	// open it once with Open (which migrates it) before auditing it.
	ErrOlderSchema = errors.New("postgres: database schema predates the installation reports")
	// ErrCorrupt means a stored value does not parse.
	ErrCorrupt = errors.New("postgres: stored value does not parse")
	// ErrInvalidRecord means a record given to LoadFleet does not have the
	// report schema's 18 fields.
	ErrInvalidRecord = errors.New("postgres: invalid fleet record")
)

// ColumnError names the stored value that does not parse: Err is
// ErrCorrupt.
type ColumnError struct {
	Column string
	Key    string
	Err    error
}

// Error implements error.
func (e *ColumnError) Error() string {
	return fmt.Sprintf("postgres: reports.%s of %q: %v", e.Column, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *ColumnError) Unwrap() error { return e.Err }

// reportColumns are the reports table's columns in the order of the
// report records' first 17 fields.
const reportColumns = issuersql.Columns

// PutReport stores r as its installation's report unless the stored one
// has a later reported_at (issuer.ReportStore), in one statement, and
// reports whether it did. Concurrent reports of one installation, from
// any number of processes, leave the latest: the upsert's WHERE is
// evaluated on the row as it stands after any concurrent writer's commit
// (ON CONFLICT locks it), so of any number of concurrent reports, from any
// replicas, the one with the latest reported_at is the one left. A report
// that fails Validate is refused with an error matching issuer.ErrBadReport.
func (db *DB) PutReport(ctx context.Context, r issuer.Report) (bool, error) {
	return issuersql.PutReport(ctx, conn{db}, r)
}

// LatestReport returns the stored report of installation, and false if
// there is none. A stored value that does not parse is a *ColumnError
// wrapping ErrCorrupt.
func (db *DB) LatestReport(ctx context.Context, installation string) (issuer.Report, bool, error) {
	return issuersql.LatestReport(ctx, conn{db}, installation, scanReport)
}

// scanReport reads a report from a row of reportColumns.
func scanReport(row issuersql.Row) (issuer.Report, error) {
	return issuersql.ScanReport(row, func(column, installation string) error {
		return &ColumnError{Column: column, Key: installation, Err: ErrCorrupt}
	})
}

// ReportRecordSep separates a report record's fields (EachReportRecord).
const ReportRecordSep = "\x1f"

// reportRecordSelect is the audit's join: every report with its app
// user's active mapping, the record's 18 fields as columns in record order
// (see EachReportRecord). They cross the wire in pgx's binary format (text
// as is, BIGINT as 8 bytes, BOOLEAN as 1), and EachReportRecord joins them
// into the record, so that the server does no more than a COPY of the join.
const reportRecordSelect = `
	SELECT r.installation_id, r.platform, r.sdk_version, r.profile, r.app_signed_in,
		r.app_user_id, r.app_vital_user_id, r.app_environment, r.app_region, r.sdk_status,
		r.sdk_current_user_id, r.sdk_environment, r.sdk_region, r.last_observed, r.last_error,
		r.next_attempt_at, r.reported_at, m.vital_user_id
	FROM reports AS r
	LEFT JOIN user_map AS m ON m.app_user_id = r.app_user_id AND m.deleted_at IS NULL AND r.app_user_id <> ''`

// reportRecordPage is one keyset page of the join: the installations
// after $1, in installation_id order (bytewise: the column is COLLATE
// "C"), at most $2 of them.
const reportRecordPage = reportRecordSelect + `
	WHERE r.installation_id > $1
	ORDER BY r.installation_id
	LIMIT $2`

// reportRecordRange is one keyset page bounded above: the installations
// after $1 up to $2, at most $3 of them. Given the range, the planner
// costs it as a share of the table: a large share is read the way a COPY
// of the whole join is (a sequential scan, a hash join with the user map,
// a sort), a small one along the primary key.
const reportRecordRange = reportRecordSelect + `
	WHERE r.installation_id > $1 AND r.installation_id <= $2
	ORDER BY r.installation_id
	LIMIT $3`

// ReportRecordQuery returns the whole join EachReportRecord reads page by
// page, in installation order, for comparing it with psql's COPY on the
// same database.
func ReportRecordQuery() string { return reportRecordSelect + "\n\tORDER BY r.installation_id" }

// DefaultPageRows is the keyset page size of EachReportRecord.
const DefaultPageRows = 500_000

// EachReportRecord streams the reports of the database at connString, each
// joined with its app user's active mapping, as one record: the report
// schema's fields in audit order (installation_id, platform, sdk_version,
// profile, app_signed_in, app_user_id, app_vital_user_id, app_environment,
// app_region, sdk_status, sdk_current_user_id, sdk_environment,
// sdk_region, last_observed, last_error, next_attempt_at, reported_at,
// mapped_vital_user_id) joined by ReportRecordSep, app_signed_in as 0 or 1
// and the times as stored: decimal Unix nanoseconds (empty when none).
// This is adapters/store/sqlite's EachReportRecord on PostgreSQL, for
// audit.RecordSource with UnixNanos.
//
// It opens connections of its own (a second one when the table has
// statistics, see below) and does not migrate: a newer schema is an
// *OpenError wrapping ErrNewerSchema and an older one (no reports table
// yet) one wrapping ErrOlderSchema, both before the first record; a string
// that does not parse is one wrapping ErrInvalidURL.
//
// Records come in installation_id order (bytewise), in keyset pages of
// about pageRows (≤ 0: DefaultPageRows). Each page is one statement that
// continues after the previous page's last installation, so no transaction
// or cursor stays open for the length of the walk, and a report written
// during the walk is read as it stands when its page is read. The pages are
// key ranges cut at the bounds of the table's statistics (pg_stats'
// histogram of installation_id, which ANALYZE and autovacuum keep), so that
// the server plans each as the share of the table it is; each page also
// stops at 2×pageRows rows, and the next one continues from its last row,
// so stale or missing statistics cost speed, never a row. While one range
// streams, the next one runs on the second connection, so that the server
// scans and sorts it meanwhile. pgx streams a page's rows: memory holds one
// row at a time whatever the page size. Rows come in pgx's binary protocol
// and are joined into the record from their raw bytes, without per-column
// conversion or allocation; the record string is valid only during fn.
// fn's error stops the walk and comes back as is; a done ctx yields
// ctx.Err().
func EachReportRecord(ctx context.Context, connString string, pageRows int, fn func(record string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if pageRows <= 0 {
		pageRows = DefaultPageRows
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return &OpenError{Err: ErrInvalidURL}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &OpenError{Err: err}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkReportsSchema(ctx, conn); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &OpenError{Err: err}
	}
	bounds, err := pageBounds(ctx, conn, pageRows)
	if err != nil {
		return readErr(ctx, err)
	}
	limit := 2 * pageRows
	// The ranges: after "" up to the first bound, …, after the last bound
	// with no end. While one range streams, the next one runs on a second
	// connection, so that the server scans and sorts it meanwhile.
	type keyRange struct {
		lo, hi  string
		bounded bool
	}
	ranges := make([]keyRange, 0, len(bounds)+1)
	lo := ""
	for _, b := range bounds {
		ranges = append(ranges, keyRange{lo: lo, hi: b, bounded: true})
		lo = b
	}
	ranges = append(ranges, keyRange{lo: lo})
	conns := [2]*pgx.Conn{conn}
	if len(ranges) > 1 {
		if conns[1], err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return readErr(ctx, err)
		}
		defer conns[1].Close(context.WithoutCancel(ctx))
	}
	// Returning early leaves rows unread: closing the connections (deferred)
	// ends them without reading the rest.
	query := func(c *pgx.Conn, lo string, r keyRange) (pgx.Rows, error) {
		if r.bounded {
			return c.Query(ctx, reportRecordRange, lo, r.hi, limit)
		}
		return c.Query(ctx, reportRecordPage, lo, limit)
	}
	var (
		rec     []byte // the record being handed to fn
		after   []byte // the last installation_id read
		n       int
		cur     = 0 // the connection of the range being read
		pending pgx.Rows
	)
	rows, err := query(conns[cur], ranges[0].lo, ranges[0])
	for i := 0; ; {
		if err != nil {
			return readErr(ctx, err)
		}
		if pending == nil && i+1 < len(ranges) {
			if pending, err = query(conns[1-cur], ranges[i+1].lo, ranges[i+1]); err != nil {
				return readErr(ctx, err)
			}
		}
		fields := rows.FieldDescriptions()
		if len(fields) != recordFields {
			// A query that failed (a cancelled ctx, a lost connection)
			// describes no columns: its error is the cause.
			rows.Close()
			if err := rows.Err(); err != nil {
				return readErr(ctx, err)
			}
			return fmt.Errorf("each report record: %d columns", len(fields))
		}
		page := 0
		for rows.Next() {
			raw := rows.RawValues()
			rec = appendRecord(rec[:0], raw, fields)
			after = append(after[:0], raw[0]...)
			page++
			n++
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(bstr(rec)); err != nil {
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return readErr(ctx, err)
		}
		switch {
		case page == limit: // the range goes on after the last row read
			rows, err = query(conns[cur], string(after), ranges[i])
		case i+1 < len(ranges):
			i, cur = i+1, 1-cur
			rows, pending = pending, nil
		default:
			return nil
		}
	}
}

// pageBounds returns the keys that cut the reports into key ranges of
// about pageRows rows, ascending, from the planner's histogram of
// installation_id and the table's estimated size; none when the table has
// no statistics yet.
func pageBounds(ctx context.Context, conn *pgx.Conn, pageRows int) ([]string, error) {
	var (
		hist []string
		rows float64
	)
	err := conn.QueryRow(ctx, `
		SELECT coalesce((SELECT histogram_bounds::text::text[] FROM pg_stats
			WHERE schemaname = current_schema() AND tablename = 'reports' AND attname = 'installation_id'), '{}'),
			(SELECT reltuples::float8 FROM pg_class WHERE oid = 'reports'::regclass)`).Scan(&hist, &rows)
	if err != nil {
		return nil, err
	}
	if len(hist) < 2 || rows <= 0 {
		return nil, nil
	}
	perBucket := rows / float64(len(hist)-1)
	step := max(1, int(float64(pageRows)/perBucket+0.5))
	var bounds []string
	for i := step; i < len(hist); i += step {
		if len(bounds) == 0 || hist[i] > bounds[len(bounds)-1] {
			bounds = append(bounds, hist[i])
		}
	}
	return bounds, nil
}

// checkReportsSchema refuses a database this program cannot audit: one
// with no reports table yet, or one a newer program migrated.
func checkReportsSchema(ctx context.Context, conn *pgx.Conn) error {
	var version int
	err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+migrationsTable).Scan(&version)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: never migrated
		return ErrOlderSchema
	}
	if err != nil {
		return err
	}
	switch {
	case version > Migrations():
		return fmt.Errorf("%w: version %d, this program knows %d", ErrNewerSchema, version, Migrations())
	case version < reportsVersion:
		return ErrOlderSchema
	}
	return nil
}

// readErr is a failed page read: ctx.Err() once ctx is done.
func readErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("each report record: %w", err)
}

// recordFields is the number of fields of a report record.
const recordFields = 18

// The columns of reportRecordSelect that are not text.
const (
	colAppSignedIn   = 4
	colNextAttemptAt = 15
	colReportedAt    = 16
)

// appendRecord appends the record of one row's raw values to b: the fields
// joined by ReportRecordSep, app_signed_in as 0 or 1, the times as decimal
// Unix nanoseconds, NULL as empty. Each value is read in the format the
// server sent it (binary or text).
func appendRecord(b []byte, raw [][]byte, fields []pgconn.FieldDescription) []byte {
	for i, v := range raw {
		if i > 0 {
			b = append(b, ReportRecordSep...)
		}
		binary := fields[i].Format == pgx.BinaryFormatCode
		switch {
		case v == nil:
		case i == colAppSignedIn:
			if (binary && len(v) == 1 && v[0] == 1) || (!binary && len(v) == 1 && v[0] == 't') {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
		case (i == colNextAttemptAt || i == colReportedAt) && binary && len(v) == 8:
			b = strconv.AppendInt(b, int64(binary64(v)), 10)
		default:
			b = append(b, v...)
		}
	}
	return b
}

// binary64 is a big-endian 8-byte value.
func binary64(v []byte) uint64 {
	return uint64(v[0])<<56 | uint64(v[1])<<48 | uint64(v[2])<<40 | uint64(v[3])<<32 |
		uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7])
}

// bstr views b as a string without copying; b must not change while the
// string is in use (for one callback).
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// LoadFleet writes generated reports and their app users' mappings in one
// transaction, with COPY, for demos, tests and benchmarks: next yields each
// record (the fields of EachReportRecord, as text; app_signed_in "true" or
// not, times RFC 3339) until it returns false. The record's
// mapped_vital_user_id, when set, becomes the app user's active mapping
// unless the user has one (the first record of a user wins). Values are
// stored as given, malformed ones included, so that an audit can be shown
// what it does with them; a time that does not parse is stored as none.
// Installation IDs must be unique and non-empty: a repeated one fails the
// load. Memory does not grow with the records.
func (db *DB) LoadFleet(ctx context.Context, next func() ([]string, bool)) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("load fleet: %w", err)
	}
	defer tx.rollback(ctx)
	// The records go to a staging table first, so that one pass of next
	// fills both tables.
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE fleet_load (LIKE reports,
		mapped_vital_user_id TEXT NOT NULL) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	src := &fleetRecords{next: next}
	cols := strings.Fields(strings.ReplaceAll(reportColumns, ",", " "))
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fleet_load"}, append(cols, "mapped_vital_user_id"), src); err != nil {
		if src.err != nil {
			return fmt.Errorf("load fleet: %w", src.err)
		}
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO reports (`+reportColumns+`) SELECT `+reportColumns+` FROM fleet_load`); err != nil {
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO user_map (app_user_id, vital_user_id, created_at)
		SELECT DISTINCT ON (app_user_id) app_user_id, mapped_vital_user_id, $1 FROM fleet_load
		WHERE app_user_id <> '' AND mapped_vital_user_id <> ''
		ORDER BY app_user_id, installation_id
		ON CONFLICT (app_user_id) WHERE deleted_at IS NULL DO NOTHING`, tx.now.UnixNano()); err != nil {
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	if _, err := tx.Exec(ctx, `ANALYZE reports, user_map`); err != nil {
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	return tx.commit(ctx)
}

// fleetRecords feeds LoadFleet's records to COPY (pgx.CopyFromSource).
type fleetRecords struct {
	next func() ([]string, bool)
	row  []any
	err  error
}

func (f *fleetRecords) Next() bool {
	rec, ok := f.next()
	if !ok {
		return false
	}
	if len(rec) != 18 {
		f.err = fmt.Errorf("%w: a record has %d fields", ErrInvalidRecord, len(rec))
		return false
	}
	parseTime := func(s string) *int64 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || issuer.CheckTime(t) != nil { // never an overflow of the nanoseconds
			return nil
		}
		return issuersql.Nanos(t)
	}
	f.row = f.row[:0]
	for i, v := range rec {
		switch i {
		case 4:
			f.row = append(f.row, v == "true")
		case 15, 16:
			f.row = append(f.row, parseTime(v))
		default:
			f.row = append(f.row, v)
		}
	}
	return true
}

func (f *fleetRecords) Values() ([]any, error) { return f.row, nil }

func (f *fleetRecords) Err() error { return f.err }
