package issuersql

import (
	"github.com/vitalsync/vitalsync/issuer"
)

// mappingColumns are the user map's columns in the order of ScanMapping.
const mappingColumns = `app_user_id, vital_user_id, created_at, deleted_at`

// ActiveMapping reads the active mapping of app user $1.
const ActiveMapping = `
	SELECT ` + mappingColumns + `
	FROM user_map WHERE app_user_id = $1 AND deleted_at IS NULL`

// MarkUserDeleted retires the active mapping of app user $2 to Vital user
// $3 at $1 (Unix nanoseconds).
const MarkUserDeleted = `
	UPDATE user_map SET deleted_at = $1
	WHERE app_user_id = $2 AND vital_user_id = $3 AND deleted_at IS NULL`

// UserHistory reads every mapping of app user $1, deleted ones included,
// oldest first.
const UserHistory = `
	SELECT ` + mappingColumns + `
	FROM user_map WHERE app_user_id = $1 ORDER BY id`

// ScanMapping reads a mapping from a row of ActiveMapping or UserHistory.
func ScanMapping(scan Scan) (issuer.Mapping, error) {
	var (
		m         issuer.Mapping
		createdAt int64
		deletedAt *int64
	)
	if err := scan(&m.AppUserID, &m.VitalUserID, &createdAt, &deletedAt); err != nil {
		return issuer.Mapping{}, err
	}
	m.CreatedAt = FromNanos(&createdAt)
	if deletedAt != nil {
		t := FromNanos(deletedAt)
		m.DeletedAt = &t
	}
	return m, nil
}

// Mappings reads every row of UserHistory; none is an empty slice.
func Mappings(rows Rows) ([]issuer.Mapping, error) {
	history := []issuer.Mapping{}
	for rows.Next() {
		m, err := ScanMapping(rows.Scan)
		if err != nil {
			return nil, err
		}
		history = append(history, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return history, nil
}
