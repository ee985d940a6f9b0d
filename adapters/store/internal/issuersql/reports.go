package issuersql

import (
	"context"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Columns are the reports table's columns in the order of ScanReport and
// ReportArgs.
const Columns = `installation_id, platform, sdk_version, profile, app_signed_in, app_user_id,
	app_vital_user_id, app_environment, app_region, sdk_status, sdk_current_user_id, sdk_environment,
	sdk_region, last_observed, last_error, next_attempt_at, reported_at`

// Updates sets each of Columns but the key (installation_id) to the value
// an upsert brought (excluded), for an ON CONFLICT (installation_id) DO
// UPDATE SET.
const Updates = `
		platform = excluded.platform, sdk_version = excluded.sdk_version, profile = excluded.profile,
		app_signed_in = excluded.app_signed_in, app_user_id = excluded.app_user_id,
		app_vital_user_id = excluded.app_vital_user_id, app_environment = excluded.app_environment,
		app_region = excluded.app_region, sdk_status = excluded.sdk_status,
		sdk_current_user_id = excluded.sdk_current_user_id, sdk_environment = excluded.sdk_environment,
		sdk_region = excluded.sdk_region, last_observed = excluded.last_observed,
		last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at,
		reported_at = excluded.reported_at`

// putReportSQL stores a report (the 17 ReportArgs) unless the stored one
// has a later reported_at: an insert, or an update of the stored row when
// that row was not taken later.
const putReportSQL = `
	INSERT INTO reports (` + Columns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
	ON CONFLICT (installation_id) DO UPDATE SET ` + Updates + `
	WHERE reports.reported_at IS NULL OR reports.reported_at <= excluded.reported_at`

// submitReportSQL stores a submitted report (the 17 ReportArgs, then
// received_at) unless the stored one was received later: reports are
// ordered by the issuer's clock.
const submitReportSQL = `
	INSERT INTO reports (` + Columns + `, received_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
	ON CONFLICT (installation_id) DO UPDATE SET ` + Updates + `, received_at = excluded.received_at
	WHERE reports.received_at IS NULL OR reports.received_at <= excluded.received_at`

// latestReportSQL reads the report of installation $1, in the order of
// ScanReport.
const latestReportSQL = `SELECT ` + Columns + ` FROM reports WHERE installation_id = $1`

// PutReport stores r as its installation's report unless the stored one
// has a later reported_at (issuer.ReportStore), in one transaction of c,
// and reports whether it did. A report that fails Validate is refused with
// an error matching issuer.ErrBadReport.
func PutReport(ctx context.Context, c Conn, r issuer.Report) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, opError("put report", err)
	}
	var n int64
	err := inTx(ctx, c, "put report", func(tx Tx) error {
		var err error
		n, err = tx.Exec(ctx, putReportSQL, ReportArgs(r)...)
		return err
	})
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// LatestReport returns the stored report of installation, and false if
// there is none; scan is the store's reading of the row (ScanReport, and
// the store's checks).
func LatestReport(ctx context.Context, c Conn, installation string, scan func(Row) (issuer.Report, error)) (issuer.Report, bool, error) {
	return lookup(ctx, c, "latest report", latestReportSQL, scan, installation)
}

// ReportArgs are r's values in the order of Columns: the status as its
// comma-separated flag names, the times as Unix nanoseconds (NULL for the
// zero time).
func ReportArgs(r issuer.Report) []any {
	return []any{r.InstallationID, string(r.Platform), r.SDKVersion, r.Profile, r.AppSignedIn, r.AppUserID,
		r.AppVitalUserID, string(r.AppEnvironment), string(r.AppRegion), strings.Join(r.SDKStatus.Names(), ","),
		r.SDKCurrentUserID, string(r.SDKEnvironment), string(r.SDKRegion), string(r.LastObserved),
		string(r.LastError), Nanos(r.NextAttemptAt), Nanos(r.ReportedAt)}
}

// ScanReport reads a report from a row of Columns. A status or last error
// that does not parse is corrupt's error for that column (named as in the
// table) and the row's installation, returned with the report as far as it
// was read.
func ScanReport(row Row, corrupt func(column, installation string) error) (issuer.Report, error) {
	var (
		r                    issuer.Report
		platform, status     string
		lastErr              string
		nextAttempt, reportd *int64
	)
	if err := row.Scan(&r.InstallationID, &platform, &r.SDKVersion, &r.Profile, &r.AppSignedIn, &r.AppUserID,
		&r.AppVitalUserID, &r.AppEnvironment, &r.AppRegion, &status, &r.SDKCurrentUserID, &r.SDKEnvironment,
		&r.SDKRegion, &r.LastObserved, &lastErr, &nextAttempt, &reportd); err != nil {
		return r, err
	}
	r.Platform = fsm.Platform(platform)
	r.NextAttemptAt, r.ReportedAt = FromNanos(nextAttempt), FromNanos(reportd)
	if status != "" {
		var err error
		if r.SDKStatus, err = fsm.ParseStatus(strings.Split(status, ",")); err != nil {
			return r, corrupt("sdk_status", r.InstallationID)
		}
	}
	var ok bool
	if r.LastError, ok = reconcile.ParseSDKError(lastErr); !ok {
		return r, corrupt("last_error", r.InstallationID)
	}
	return r, nil
}

// Nanos is t as Unix nanoseconds, nil (NULL) for the zero time.
func Nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// FromNanos is the inverse of Nanos, in UTC.
func FromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}
