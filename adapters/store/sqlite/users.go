package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

const tableUsers = "user_map"

// The user map's statements.
var (
	activeMappingSQL   = numbered(issuersql.ActiveMapping)
	markUserDeletedSQL = numbered(issuersql.MarkUserDeleted)
	userHistorySQL     = numbered(issuersql.UserHistory)
)

// The errors of the user map's methods that the issuer's sentinels match
// too.
var (
	invalidMapping  error = &domainError{storage: ErrInvalid, domain: issuer.ErrInvalidMapping}
	mappingInactive error = &domainError{storage: ErrNotFound, domain: issuer.ErrMappingInactive}
)

// LookupUser returns the active mapping of appUserID, and false if it has
// none (issuer.UserStore).
func (db *DB) LookupUser(ctx context.Context, appUserID string) (issuer.Mapping, bool, error) {
	if err := db.check(ctx); err != nil {
		return issuer.Mapping{}, false, err
	}
	m, err := issuersql.ScanMapping(db.rdb.QueryRowContext(ctx, activeMappingSQL, appUserID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return issuer.Mapping{}, false, nil
	}
	if err != nil {
		return issuer.Mapping{}, false, fmt.Errorf("lookup user: %w", db.wrap(ctx, err))
	}
	return m, true, nil
}

// PutUser maps appUserID to vitalUserID, created now by the DB clock, in one
// transaction (issuer.UserStore). If appUserID already has an active
// mapping, PutUser changes nothing and returns that mapping with
// issuer.issuer.ErrMappingExists: of concurrent first calls for one app user
// exactly one succeeds. (The check and the insert share one BEGIN IMMEDIATE
// transaction, so this holds across processes too; a partial UNIQUE index
// backs it in the schema.) An empty ID is a *ColumnError whose error matches
// both ErrInvalid and issuer.ErrInvalidMapping.
func (db *DB) PutUser(ctx context.Context, appUserID, vitalUserID string) (issuer.Mapping, error) {
	if appUserID == "" || vitalUserID == "" {
		column := "app_user_id"
		if appUserID != "" {
			column = "vital_user_id"
		}
		return issuer.Mapping{}, fmt.Errorf("put user: %w",
			&ColumnError{Table: tableUsers, Column: column, Key: appUserID, Err: invalidMapping})
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return issuer.Mapping{}, fmt.Errorf("put user: %w", err)
	}
	defer tx.Rollback()
	m, err := tx.putUser(ctx, appUserID, vitalUserID)
	if errors.Is(err, issuer.ErrMappingExists) {
		return m, fmt.Errorf("put user: %w", err)
	}
	if err != nil {
		return issuer.Mapping{}, fmt.Errorf("put user: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return issuer.Mapping{}, fmt.Errorf("put user: %w", err)
	}
	return m, nil
}

func (tx *tx) putUser(ctx context.Context, appUserID, vitalUserID string) (issuer.Mapping, error) {
	existing, err := issuersql.ScanMapping(tx.QueryRowContext(ctx, activeMappingSQL, appUserID).Scan)
	if err == nil {
		return existing, issuer.ErrMappingExists
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return issuer.Mapping{}, err
	}
	m := issuer.Mapping{AppUserID: appUserID, VitalUserID: vitalUserID, CreatedAt: tx.now}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO user_map (app_user_id, vital_user_id, created_at) VALUES (?, ?, ?)`,
		appUserID, vitalUserID, tx.now.UnixNano()); err != nil {
		return issuer.Mapping{}, err
	}
	return m, nil
}

// MarkUserDeleted marks the active mapping of appUserID to vitalUserID as
// deleted now (by the DB clock), keeping it as history, in one transaction
// (issuer.UserStore). Without such an active mapping it returns an error
// matching both ErrNotFound and issuer.ErrMappingInactive, and changes
// nothing.
func (db *DB) MarkUserDeleted(ctx context.Context, appUserID, vitalUserID string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("mark user deleted: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, markUserDeletedSQL, tx.now.UnixNano(), appUserID, vitalUserID)
	if err != nil {
		return fmt.Errorf("mark user deleted: %w", db.wrap(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("mark user deleted: %w", db.wrap(ctx, err))
	}
	if n == 0 {
		return fmt.Errorf("mark user deleted: %w", mappingInactive)
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("mark user deleted: %w", err)
	}
	return nil
}

// UserHistory returns every mapping of appUserID, deleted ones included,
// oldest first. No mappings is an empty slice.
func (db *DB) UserHistory(ctx context.Context, appUserID string) ([]issuer.Mapping, error) {
	if err := db.check(ctx); err != nil {
		return nil, err
	}
	rows, err := db.rdb.QueryContext(ctx, userHistorySQL, appUserID)
	if err != nil {
		return nil, fmt.Errorf("user history: %w", db.wrap(ctx, err))
	}
	defer rows.Close()
	history, err := issuersql.Mappings(rows)
	if err != nil {
		return nil, fmt.Errorf("user history: %w", db.wrap(ctx, err))
	}
	return history, nil
}
