package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Report is what one installation of a fleet reported: the app's session and
// the SDK's status, for batch audits.
type Report struct {
	Installation   string
	Profile        string // an fsm profile name, or ""
	AppSignedIn    bool
	AppUserID      string
	AppVitalUserID string
	AppEnvironment fsm.Environment
	AppRegion      fsm.Region
	Status         fsm.Status
	CurrentUserID  string
	SDKEnvironment fsm.Environment
	SDKRegion      fsm.Region
	LastObserved   fsm.State // "" unknown
	ReportedAt     time.Time
}

const tableReports = "reports"

// PutReport stores r as the report of r.Installation, replacing the previous
// one, in one transaction. A zero ReportedAt is set from the DB clock. A
// value that cannot be stored is a *ColumnError wrapping ErrInvalid.
func (db *DB) PutReport(ctx context.Context, r Report) error {
	if err := checkReport(r, ErrInvalid); err != nil {
		return fmt.Errorf("put report: %w", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("put report: %w", err)
	}
	defer tx.Rollback()
	if r.ReportedAt.IsZero() {
		r.ReportedAt = tx.now
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO reports (installation, profile, app_signed_in, app_user_id,
			app_vital_user_id, app_environment, app_region, status, current_user_id,
			sdk_environment, sdk_region, last_observed, reported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation) DO UPDATE SET
			profile = excluded.profile, app_signed_in = excluded.app_signed_in,
			app_user_id = excluded.app_user_id, app_vital_user_id = excluded.app_vital_user_id,
			app_environment = excluded.app_environment, app_region = excluded.app_region,
			status = excluded.status, current_user_id = excluded.current_user_id,
			sdk_environment = excluded.sdk_environment, sdk_region = excluded.sdk_region,
			last_observed = excluded.last_observed, reported_at = excluded.reported_at`,
		r.Installation, r.Profile, r.AppSignedIn, r.AppUserID, r.AppVitalUserID,
		string(r.AppEnvironment), string(r.AppRegion), strings.Join(r.Status.Names(), ","),
		r.CurrentUserID, string(r.SDKEnvironment), string(r.SDKRegion), string(r.LastObserved),
		nanos(r.ReportedAt),
	); err != nil {
		return fmt.Errorf("put report: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("put report: %w", err)
	}
	return nil
}

// EachReport calls fn with every report in installation order, reading them
// one at a time (memory does not grow with the fleet). It stops at the first
// error of fn and returns it as is. fn may call other DB methods, writes
// included; while it runs, the walk holds one of the DB's few read
// connections, so walks must not nest more than a couple deep.
func (db *DB) EachReport(ctx context.Context, fn func(Report) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	rows, err := db.rdb.QueryContext(ctx, `
		SELECT installation, profile, app_signed_in, app_user_id, app_vital_user_id,
			app_environment, app_region, status, current_user_id, sdk_environment,
			sdk_region, last_observed, reported_at
		FROM reports ORDER BY installation`)
	if err != nil {
		return fmt.Errorf("each report: %w", db.wrap(ctx, err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r        Report
			status   string
			reported sql.NullInt64
		)
		if err := rows.Scan(&r.Installation, &r.Profile, &r.AppSignedIn, &r.AppUserID,
			&r.AppVitalUserID, &r.AppEnvironment, &r.AppRegion, &status, &r.CurrentUserID,
			&r.SDKEnvironment, &r.SDKRegion, &r.LastObserved, &reported); err != nil {
			return fmt.Errorf("each report: %w", db.wrap(ctx, err))
		}
		r.ReportedAt = fromNanos(reported)
		if status != "" {
			if r.Status, err = fsm.ParseStatus(strings.Split(status, ",")); err != nil {
				return fmt.Errorf("each report: %w",
					&ColumnError{Table: tableReports, Column: "status", Key: r.Installation, Err: ErrCorrupt})
			}
		}
		if err := checkReport(r, ErrCorrupt); err != nil {
			return fmt.Errorf("each report: %w", err)
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

// checkReport validates the enumerated fields of r; a bad one is a
// *ColumnError wrapping kind (ErrInvalid on save, ErrCorrupt on load).
func checkReport(r Report, kind error) error {
	bad := func(column string) error {
		return &ColumnError{Table: tableReports, Column: column, Key: r.Installation, Err: kind}
	}
	switch {
	case r.Installation == "":
		return bad("installation")
	case r.Profile != "" && !validProfile(r.Profile):
		return bad("profile")
	case !validEnvironment(r.AppEnvironment):
		return bad("app_environment")
	case !validRegion(r.AppRegion):
		return bad("app_region")
	case !validEnvironment(r.SDKEnvironment):
		return bad("sdk_environment")
	case !validRegion(r.SDKRegion):
		return bad("sdk_region")
	case r.LastObserved != "" && !validState(r.LastObserved):
		return bad("last_observed")
	case r.Status&^allFlags != 0:
		return bad("status")
	}
	return nil
}
