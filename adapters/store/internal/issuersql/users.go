package issuersql

import (
	"context"
	"errors"

	"github.com/vitalsync/vitalsync/issuer"
)

// mappingColumns are the user map's columns in the order of ScanMapping.
const mappingColumns = `app_user_id, vital_user_id, created_at, deleted_at`

// ActiveMappingSQL reads the active mapping of app user $1.
const ActiveMappingSQL = `
	SELECT ` + mappingColumns + `
	FROM user_map WHERE app_user_id = $1 AND deleted_at IS NULL`

// markUserDeletedSQL retires the active mapping of app user $2 to Vital
// user $3 at $1 (Unix nanoseconds).
const markUserDeletedSQL = `
	UPDATE user_map SET deleted_at = $1
	WHERE app_user_id = $2 AND vital_user_id = $3 AND deleted_at IS NULL`

// userHistorySQL reads every mapping of app user $1, deleted ones
// included, oldest first.
const userHistorySQL = `
	SELECT ` + mappingColumns + `
	FROM user_map WHERE app_user_id = $1 ORDER BY id`

// LookupUser returns the active mapping of appUserID, and false if it has
// none (issuer.UserStore).
func LookupUser(ctx context.Context, c Conn, appUserID string) (issuer.Mapping, bool, error) {
	return lookup(ctx, c, "lookup user", ActiveMappingSQL, ScanMapping, appUserID)
}

// PutUser maps appUserID to vitalUserID in one transaction of c
// (issuer.UserStore): insert is the store's insert of the mapping unless
// an active one exists, which it returns with issuer.ErrMappingExists (and
// PutUser then too). The store refuses empty IDs first, in its own error.
func PutUser(ctx context.Context, c Conn, appUserID, vitalUserID string,
	insert func(ctx context.Context, tx Tx, appUserID, vitalUserID string) (issuer.Mapping, error),
) (issuer.Mapping, error) {
	var m issuer.Mapping
	err := inTx(ctx, c, "put user", func(tx Tx) error {
		var err error
		m, err = insert(ctx, tx, appUserID, vitalUserID)
		return err
	})
	if errors.Is(err, issuer.ErrMappingExists) {
		return m, err
	}
	if err != nil {
		return issuer.Mapping{}, err
	}
	return m, nil
}

// MarkUserDeleted marks the active mapping of appUserID to vitalUserID as
// deleted at the transaction's time, keeping it as history, in one
// transaction of c (issuer.UserStore). Without such an active mapping it
// returns inactive, the store's error matching issuer.ErrMappingInactive,
// and changes nothing.
func MarkUserDeleted(ctx context.Context, c Conn, appUserID, vitalUserID string, inactive error) error {
	return inTx(ctx, c, "mark user deleted", func(tx Tx) error {
		n, err := tx.Exec(ctx, markUserDeletedSQL, tx.Now().UnixNano(), appUserID, vitalUserID)
		if err != nil {
			return err
		}
		if n == 0 {
			return inactive
		}
		return nil
	})
}

// UserHistory returns every mapping of appUserID, deleted ones included,
// oldest first. No mappings is an empty slice.
func UserHistory(ctx context.Context, c Conn, appUserID string) ([]issuer.Mapping, error) {
	history := []issuer.Mapping{}
	err := read(ctx, c, "user history", userHistorySQL, []any{appUserID}, func(rows Rows) error {
		for rows.Next() {
			m, err := ScanMapping(rows)
			if err != nil {
				return err
			}
			history = append(history, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return history, nil
}

// ScanMapping reads a mapping from a row of the user map's columns.
func ScanMapping(row Row) (issuer.Mapping, error) {
	var (
		m         issuer.Mapping
		createdAt int64
		deletedAt *int64
	)
	if err := row.Scan(&m.AppUserID, &m.VitalUserID, &createdAt, &deletedAt); err != nil {
		return issuer.Mapping{}, err
	}
	m.CreatedAt = FromNanos(&createdAt)
	if deletedAt != nil {
		t := FromNanos(deletedAt)
		m.DeletedAt = &t
	}
	return m, nil
}
