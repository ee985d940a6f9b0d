package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

// The reports table implements the issuer's report store.
var _ issuer.ReportStore = (*DB)(nil)

const tableReports = "reports"

// reportsVersion is the schema version that gave the reports table its
// public schema (migration 0005).
const reportsVersion = 5

// reportColumns are the reports table's columns in the order of
// scanReport.
const reportColumns = issuersql.Columns

// PutReport stores r as its installation's report unless the stored one
// has a later reported_at (see issuer.ReportStore), in one transaction, and
// reports whether it did. A report that fails Validate is refused with an
// error matching issuer.ErrBadReport.
func (db *DB) PutReport(ctx context.Context, r issuer.Report) (bool, error) {
	return issuersql.PutReport(ctx, conn{db}, r)
}

// LatestReport returns the stored report of installation, and false if
// there is none. A stored value that does not parse is a *ColumnError
// wrapping ErrCorrupt.
func (db *DB) LatestReport(ctx context.Context, installation string) (issuer.Report, bool, error) {
	return issuersql.LatestReport(ctx, conn{db}, installation, scanReport)
}

// EachReport calls fn with every report in installation order, reading them
// one at a time (memory does not grow with the fleet). It stops at the first
// error of fn and returns it as is. fn may call other DB methods, writes
// included; while it runs, the walk holds one of the DB's few read
// connections, so walks must not nest more than a couple deep.
func (db *DB) EachReport(ctx context.Context, fn func(issuer.Report) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+reportColumns+` FROM reports ORDER BY installation_id`)
	if err != nil {
		return fmt.Errorf("each report: %w", db.wrap(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return fmt.Errorf("each report: %w", db.wrap(ctx, err))
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("each report: %w", db.wrap(ctx, err))
	}
	return nil
}

// scanReport reads a report from a row of reportColumns, each value
// checked: one that does not parse is a *ColumnError wrapping ErrCorrupt.
func scanReport(row issuersql.Row) (issuer.Report, error) {
	bad := func(column, installation string) error {
		return &ColumnError{Table: tableReports, Column: column, Key: installation, Err: ErrCorrupt}
	}
	r, err := issuersql.ScanReport(row, bad)
	if err != nil {
		return r, err
	}
	switch {
	case r.Profile != "" && !validProfile(r.Profile):
		return r, bad("profile", r.InstallationID)
	case !validEnvironment(r.AppEnvironment):
		return r, bad("app_environment", r.InstallationID)
	case !validRegion(r.AppRegion):
		return r, bad("app_region", r.InstallationID)
	case !validEnvironment(r.SDKEnvironment):
		return r, bad("sdk_environment", r.InstallationID)
	case !validRegion(r.SDKRegion):
		return r, bad("sdk_region", r.InstallationID)
	case r.LastObserved != "" && !validState(r.LastObserved):
		return r, bad("last_observed", r.InstallationID)
	}
	return r, nil
}

// ErrOlderSchema means a database predates the reports table's public
// schema: open it once with Open (which migrates it) before auditing it.
var ErrOlderSchema = errors.New("sqlite: database schema predates the installation reports")

// ReportRecordSep separates a report record's fields (EachReportRecord).
const ReportRecordSep = "\x1f"

// reportRecordExpr is a report's audit record in SQL: the fields joined by
// the unit separator, the times as stored.
const reportRecordExpr = `r.installation_id || char(31) || r.platform || char(31) || r.sdk_version || char(31) || r.profile || char(31) ||
	r.app_signed_in || char(31) || r.app_user_id || char(31) || r.app_vital_user_id || char(31) ||
	r.app_environment || char(31) || r.app_region || char(31) || r.sdk_status || char(31) ||
	r.sdk_current_user_id || char(31) || r.sdk_environment || char(31) || r.sdk_region || char(31) ||
	r.last_observed || char(31) || r.last_error || char(31) || ifnull(r.next_attempt_at, '') || char(31) ||
	ifnull(r.reported_at, '')`

// reportRecordSQL is the audit's join: every report with its app user's
// active mapping, as one record a row (see EachReportRecord). SQLite scans
// the reports table and looks each app user up in user_map_active, the
// partial unique index of the active mappings.
const reportRecordSQL = "SELECT " + reportRecordExpr + " || char(31) || ifnull(m.vital_user_id, '') AS record\n\tFROM reports AS r" +
	"\n\tLEFT JOIN user_map AS m ON m.app_user_id = r.app_user_id AND m.deleted_at IS NULL AND r.app_user_id != ''"

// ReportRecordQuery returns the join EachReportRecord runs on a current
// file (its one column: record), for comparing it with the sqlite3
// command-line tool on the same file.
func ReportRecordQuery() string { return reportRecordSQL }

// EachReportRecord streams the reports of the database file at path, each
// joined with its app user's active mapping, as one record: the report
// schema's fields in audit order (installation_id, platform, sdk_version,
// profile, app_signed_in, app_user_id, app_vital_user_id, app_environment,
// app_region, sdk_status, sdk_current_user_id, sdk_environment,
// sdk_region, last_observed, last_error, next_attempt_at, reported_at,
// mapped_vital_user_id) joined by ReportRecordSep, app_signed_in as 0 or 1
// and the times as stored: decimal Unix nanoseconds (empty when none).
//
// The file is opened read-only and is not migrated: a newer schema is an
// *OpenError wrapping ErrNewerSchema, an older one ErrOlderSchema and a
// device database a *KindError, all before the first record; a file from
// before the split is read as it is. The records are built from the tables (a file
// at schema versions 7-9, which still has migration 0007's covering
// indexes, is read the same way). Each connection reads its range in one
// read transaction, a span of rowids at a time, the span's records built
// by SQLite and crossing to Go as one string: no per-column conversion of
// database/sql, no per-row crossing of the driver. A large file is read as
// two ranges on two connections at once, so the records come in no
// particular order. fn is called from the caller's goroutine only. fn's
// error stops the walk and comes back as is; a done ctx yields ctx.Err().
func EachReportRecord(ctx context.Context, path string, fn func(record string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	migs, err := loadMigrations(KindIssuer)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", fileURI(path)+"?mode=ro&_busy_timeout="+strconv.Itoa(int(busyTimeout/time.Millisecond)))
	if err != nil {
		return &OpenError{Path: path, Err: err}
	}
	defer db.Close()
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &OpenError{Path: path, Err: classify(err)}
	}
	switch {
	case version > len(migs):
		return &OpenError{Path: path, Err: ErrNewerSchema}
	case version < reportsVersion:
		return &OpenError{Path: path, Err: ErrOlderSchema}
	}
	if _, err := checkKind(ctx, db, KindIssuer, version); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &OpenError{Path: path, Err: err}
	}
	ranges, err := readRanges(ctx, db)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("each report record: %w", classify(err))
	}
	if len(ranges) == 0 {
		return nil // no reports
	}
	// SQLite's step, most of the cost, runs on two cores while fn keeps to
	// the caller's goroutine.
	db.SetMaxOpenConns(len(ranges))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []string, 4*len(ranges))
	readErrs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for i, rg := range ranges {
		wg.Go(func() {
			if readErrs[i] = readReportRange(rctx, db, rg, batches); readErrs[i] != nil {
				cancel() // the other range stops too
			}
		})
	}
	go func() { wg.Wait(); close(batches) }()
	var fnErr error
	for b := range batches {
		if fnErr != nil {
			continue // draining after fn said stop
		}
		for _, rec := range b {
			if fnErr = fn(rec); fnErr != nil {
				cancel()
				break
			}
		}
	}
	if fnErr != nil {
		return fnErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range readErrs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("each report record: %w", classify(err))
		}
	}
	return nil
}

// parallelReadRows is the rowid span from which EachReportRecord reads on
// two connections.
var parallelReadRows int64 = 100_000

// chunkRows is the rowid span of one chunk query (reportChunkSQL): the
// records of up to chunkRows reports cross from SQLite as one string.
var chunkRows int64 = 512

// reportRecordList is the record of reportRecordExpr as one call of
// concat_ws, which builds it in one buffer (a chain of || copies the
// growing record at every field). It is the same text while no field is
// NULL: the nullable columns are wrapped in ifnull, and the others are
// NOT NULL (reportsNotNull).
const reportRecordList = `concat_ws(char(31), r.installation_id, r.platform, r.sdk_version, r.profile,
	r.app_signed_in, r.app_user_id, r.app_vital_user_id, r.app_environment, r.app_region, r.sdk_status,
	r.sdk_current_user_id, r.sdk_environment, r.sdk_region, r.last_observed, r.last_error,
	ifnull(r.next_attempt_at, ''), ifnull(r.reported_at, ''), ifnull(m.vital_user_id, ''))`

// reportJoin is the audit's join over one rowid span [?1, ?2).
const reportJoin = "\n\tFROM reports AS r" +
	"\n\tLEFT JOIN user_map AS m ON m.app_user_id = r.app_user_id AND m.deleted_at IS NULL AND r.app_user_id != ''" +
	"\n\tWHERE r.rowid >= ?1 AND r.rowid < ?2"

// reportChunkSQL is the audit's join over one rowid span as one row: the
// number of reports in the span, and their records joined by the record
// separator char(30) (NULL for none). One step and one string for a span
// instead of one a report: the driver's per-row crossing and allocation
// go.
const reportChunkSQL = "SELECT count(*), group_concat(" + reportRecordList + ", char(30))" + reportJoin

// reportSpanSQL is the audit's join over one rowid span, a record a row
// (reportRecordExpr, as ReportRecordQuery): for a span whose chunk does
// not split back into its records (a value holding char(30)), and for a
// file whose reports table lets a field be NULL.
const reportSpanSQL = "SELECT " + reportRecordExpr + " || char(31) || ifnull(m.vital_user_id, '')" + reportJoin

// recordSep30 separates the records of one chunk.
const recordSep30 = '\x1e'

// readRange is one connection's share of the audit's join: the reports
// whose rowids lie in [lo, hi).
type readRange struct {
	lo, hi int64
	// chunked: read by reportChunkSQL, else by reportSpanSQL.
	chunked bool
}

// readRanges splits the reports into the ranges EachReportRecord reads at
// once: none without reports, one below parallelReadRows, else two halves
// of the rowids. Each range is read in one read transaction; an update of
// a report keeps its rowid, so a report the issuer rewrites during the
// audit (even for another app user) still falls in exactly one of them.
func readRanges(ctx context.Context, db *sql.DB) ([]readRange, error) {
	var lo, hi sql.NullInt64
	// Two subqueries: each is one seek, where min and max together scan.
	if err := db.QueryRowContext(ctx, "SELECT (SELECT min(rowid) FROM reports), (SELECT max(rowid) FROM reports)").Scan(&lo, &hi); err != nil || !lo.Valid {
		return nil, err
	}
	chunked, err := reportsNotNull(ctx, db)
	if err != nil {
		return nil, err
	}
	if hi.Int64-lo.Int64 < parallelReadRows {
		return []readRange{{lo.Int64, hi.Int64 + 1, chunked}}, nil
	}
	mid := lo.Int64 + (hi.Int64-lo.Int64)/2
	return []readRange{{lo.Int64, mid + 1, chunked}, {mid + 1, hi.Int64 + 1, chunked}}, nil
}

// reportsNotNull reports whether the reports table holds no NULL in the
// columns a record takes as they are (every one but the two times), as
// every migration since 0001 declares: then reportRecordList is the
// record. A file made otherwise is read by reportSpanSQL.
func reportsNotNull(ctx context.Context, db *sql.DB) (bool, error) {
	var nullable int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('reports')
		WHERE "notnull" = 0 AND name NOT IN ('next_attempt_at', 'reported_at', 'received_at')`).Scan(&nullable)
	return nullable == 0, err
}

// readReportRange sends the records of rg, a span of chunkRows rowids at
// a time, until it is done or ctx ends. The spans are read in one read
// transaction, through the driver without a context (its cheaper step;
// ctx is checked between spans).
func readReportRange(ctx context.Context, db *sql.DB, rg readRange, out chan<- []string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		bg := context.Background()
		pc, ok1 := dc.(driver.ConnPrepareContext)
		bc, ok2 := dc.(driver.ConnBeginTx)
		if !ok1 || !ok2 {
			return errors.New("sqlite: driver cannot prepare or begin")
		}
		tx, err := bc.BeginTx(bg, driver.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var chunk, span driver.Stmt
		defer func() {
			for _, st := range []driver.Stmt{chunk, span} {
				if st != nil {
					st.Close()
				}
			}
		}()
		if rg.chunked {
			if chunk, err = pc.PrepareContext(bg, reportChunkSQL); err != nil {
				return err
			}
		}
		args := []driver.NamedValue{{Ordinal: 1}, {Ordinal: 2}}
		dest := make([]driver.Value, 2)
		for lo := rg.lo; lo < rg.hi; lo += chunkRows {
			if err := ctx.Err(); err != nil {
				return err
			}
			args[0].Value, args[1].Value = lo, min(lo+chunkRows, rg.hi)
			var batch []string
			if chunk != nil {
				if err := queryOne(chunk, args, dest); err != nil {
					return err
				}
				n, _ := dest[0].(int64)
				if n == 0 {
					continue
				}
				joined, _ := dest[1].(string)
				if batch = splitRecords(joined, int(n)); batch == nil {
					batch = make([]string, 0, n) // a value holds char(30): a record a row
				}
			}
			if len(batch) == 0 {
				if span == nil {
					if span, err = pc.PrepareContext(bg, reportSpanSQL); err != nil {
						return err
					}
				}
				if batch, err = queryRecords(span, args, batch); err != nil {
					return err
				}
				if len(batch) == 0 {
					continue
				}
			}
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
}

// splitRecords splits a chunk's n records, or returns nil when they are
// not n (a value holds the separator).
func splitRecords(joined string, n int) []string {
	batch := make([]string, 0, n)
	for {
		i := strings.IndexByte(joined, recordSep30)
		if i < 0 {
			break
		}
		if len(batch) == n-1 {
			return nil
		}
		batch = append(batch, joined[:i])
		joined = joined[i+1:]
	}
	if len(batch) != n-1 {
		return nil
	}
	return append(batch, joined)
}

// queryOne runs st with args and reads its one row into dest.
func queryOne(st driver.Stmt, args []driver.NamedValue, dest []driver.Value) error {
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), args)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := rows.Next(dest); err != nil {
		if err == io.EOF {
			return errors.New("sqlite: the chunk query returned no row")
		}
		return err
	}
	return nil
}

// queryRecords runs st with args and appends its records (one column, ""
// for NULL) to batch.
func queryRecords(st driver.Stmt, args []driver.NamedValue, batch []string) ([]string, error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return batch, nil
			}
			return nil, err
		}
		rec, _ := dest[0].(string)
		batch = append(batch, rec)
	}
}

// LoadFleet writes generated reports and their app users' mappings in one
// transaction, for demos, tests and benchmarks: next yields each record
// (the fields of EachReportRecord, as text) until it returns false. The
// record's mapped_vital_user_id, when set, becomes the app user's active
// mapping. Values are stored as given, malformed ones included, so that an
// audit can be shown what it does with them.
func (db *DB) LoadFleet(ctx context.Context, next func() ([]string, bool)) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("load fleet: %w", err)
	}
	defer tx.Rollback()
	rep, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO reports (`+reportColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	defer rep.Close()
	mapping, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO user_map (app_user_id, vital_user_id, created_at)
		VALUES (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
	}
	defer mapping.Close()
	parseTime := func(s string) sql.NullInt64 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || issuer.CheckTime(t) != nil { // never an overflow of the nanoseconds
			return sql.NullInt64{}
		}
		return nanos(t)
	}
	for {
		rec, ok := next()
		if !ok {
			break
		}
		if len(rec) != 18 {
			return fmt.Errorf("load fleet: %w: a record has %d fields", ErrInvalid, len(rec))
		}
		args := make([]any, 17)
		for i := range 17 {
			args[i] = rec[i]
		}
		args[4] = rec[4] == "true"
		args[15], args[16] = parseTime(rec[15]), parseTime(rec[16])
		if _, err := rep.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
		}
		if rec[17] != "" && rec[5] != "" {
			if _, err := mapping.ExecContext(ctx, rec[5], rec[17], tx.now.UnixNano()); err != nil {
				return fmt.Errorf("load fleet: %w", db.wrap(ctx, err))
			}
		}
	}
	return tx.commit(ctx)
}

// LastReportSent returns when installation last sent its report (the zero
// time: never). It implements installation.ReportLog.
func (db *DB) LastReportSent(ctx context.Context, installation string) (time.Time, error) {
	if err := db.check(ctx); err != nil {
		return time.Time{}, err
	}
	var at sql.NullInt64
	err := db.rdb.QueryRowContext(ctx, `SELECT sent_at FROM report_log WHERE installation = ?`, installation).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("last report sent: %w", db.wrap(ctx, err))
	}
	return fromNanos(at), nil
}

// SetReportSent records that installation sent its report at t, in one
// transaction.
func (db *DB) SetReportSent(ctx context.Context, installation string, t time.Time) error {
	if installation == "" || t.IsZero() {
		return fmt.Errorf("set report sent: %w", ErrInvalid)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("set report sent: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_log (installation, sent_at) VALUES (?, ?)
		ON CONFLICT (installation) DO UPDATE SET sent_at = excluded.sent_at`, installation, nanos(t)); err != nil {
		return fmt.Errorf("set report sent: %w", db.wrap(ctx, err))
	}
	return tx.commit(ctx)
}
