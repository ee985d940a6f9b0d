package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

const tableUsers = "user_map"

// The errors of the user map's methods that the issuer's sentinels match
// too.
var (
	invalidMapping  error = &domainError{storage: ErrInvalid, domain: issuer.ErrInvalidMapping}
	mappingInactive error = &domainError{storage: ErrNotFound, domain: issuer.ErrMappingInactive}
)

// LookupUser returns the active mapping of appUserID, and false if it has
// none (issuer.UserStore).
func (db *DB) LookupUser(ctx context.Context, appUserID string) (issuer.Mapping, bool, error) {
	return issuersql.LookupUser(ctx, conn{db}, appUserID)
}

// PutUser maps appUserID to vitalUserID, created now by the DB clock, in one
// transaction (issuer.UserStore). If appUserID already has an active
// mapping, PutUser changes nothing and returns that mapping with
// issuer.ErrMappingExists: of concurrent first calls for one app user
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
	return issuersql.PutUser(ctx, conn{db}, appUserID, vitalUserID, putUser)
}

// putUser inserts the mapping unless an active one exists, which it then
// returns with issuer.ErrMappingExists: BEGIN IMMEDIATE holds off every
// other writer between the read and the insert.
func putUser(ctx context.Context, tx issuersql.Tx, appUserID, vitalUserID string) (issuer.Mapping, error) {
	existing, err := issuersql.ScanMapping(tx.QueryRow(ctx, issuersql.ActiveMappingSQL, appUserID))
	if err == nil {
		return existing, issuer.ErrMappingExists
	}
	if !errors.Is(err, issuersql.ErrNoRows) {
		return issuer.Mapping{}, err
	}
	m := issuer.Mapping{AppUserID: appUserID, VitalUserID: vitalUserID, CreatedAt: tx.Now()}
	if _, err := tx.Exec(ctx, `
		INSERT INTO user_map (app_user_id, vital_user_id, created_at) VALUES (?, ?, ?)`,
		appUserID, vitalUserID, tx.Now().UnixNano()); err != nil {
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
	return issuersql.MarkUserDeleted(ctx, conn{db}, appUserID, vitalUserID, mappingInactive)
}

// UserHistory returns every mapping of appUserID, deleted ones included,
// oldest first. No mappings is an empty slice.
func (db *DB) UserHistory(ctx context.Context, appUserID string) ([]issuer.Mapping, error) {
	return issuersql.UserHistory(ctx, conn{db}, appUserID)
}
