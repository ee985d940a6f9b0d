package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

// putAttempts bounds PutUser's insert-or-read loop: a read finds no active
// mapping after the insert found one only when another transaction retired
// it in between, which takes a deletion racing a first request.
const putAttempts = 3

// LookupUser returns the active mapping of appUserID, and false if it has
// none (issuer.UserStore).
func (db *DB) LookupUser(ctx context.Context, appUserID string) (issuer.Mapping, bool, error) {
	return issuersql.LookupUser(ctx, conn{db}, appUserID)
}

// PutUser maps appUserID to vitalUserID, created now by the DB clock, in one
// transaction (issuer.UserStore). If appUserID already has an active
// mapping, PutUser changes nothing and returns that mapping with an error
// matching issuer.ErrMappingExists: the partial unique index user_map_active
// decides between concurrent first calls, from any number of processes, and
// exactly one succeeds. An empty ID is refused with an error matching
// issuer.ErrInvalidMapping.
func (db *DB) PutUser(ctx context.Context, appUserID, vitalUserID string) (issuer.Mapping, error) {
	if appUserID == "" || vitalUserID == "" {
		return issuer.Mapping{}, fmt.Errorf("put user: %w: empty app or Vital user ID", issuer.ErrInvalidMapping)
	}
	return issuersql.PutUser(ctx, conn{db}, appUserID, vitalUserID, putUser)
}

// putUser inserts the mapping unless an active one exists, which it then
// returns with issuer.ErrMappingExists. ON CONFLICT waits for a concurrent
// insert of the same app user to commit or roll back, and each statement
// of a read-committed transaction sees the latest commits, so the read
// after a conflict finds the winner.
func putUser(ctx context.Context, tx issuersql.Tx, appUserID, vitalUserID string) (issuer.Mapping, error) {
	for range putAttempts {
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO user_map (app_user_id, vital_user_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (app_user_id) WHERE deleted_at IS NULL DO NOTHING
			RETURNING id`, appUserID, vitalUserID, tx.Now().UnixNano()).Scan(&id)
		if err == nil {
			return issuer.Mapping{AppUserID: appUserID, VitalUserID: vitalUserID, CreatedAt: tx.Now()}, nil
		}
		if !errors.Is(err, issuersql.ErrNoRows) {
			return issuer.Mapping{}, err
		}
		existing, err := issuersql.ScanMapping(tx.QueryRow(ctx, issuersql.ActiveMappingSQL, appUserID))
		if err == nil {
			return existing, issuer.ErrMappingExists
		}
		if !errors.Is(err, issuersql.ErrNoRows) {
			return issuer.Mapping{}, err
		}
		// Retired between the two statements: try the insert again.
	}
	return issuer.Mapping{}, errors.New("the active mapping kept changing")
}

// MarkUserDeleted marks the active mapping of appUserID to vitalUserID as
// deleted now (by the DB clock), keeping it as history, in one transaction
// (issuer.UserStore). Without such an active mapping it returns an error
// matching issuer.ErrMappingInactive and changes nothing.
func (db *DB) MarkUserDeleted(ctx context.Context, appUserID, vitalUserID string) error {
	return issuersql.MarkUserDeleted(ctx, conn{db}, appUserID, vitalUserID, issuer.ErrMappingInactive)
}

// UserHistory returns every mapping of appUserID, deleted ones included,
// oldest first. No mappings is an empty slice.
func (db *DB) UserHistory(ctx context.Context, appUserID string) ([]issuer.Mapping, error) {
	return issuersql.UserHistory(ctx, conn{db}, appUserID)
}
