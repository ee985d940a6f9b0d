package issuersql

import (
	"github.com/vitalsync/vitalsync/issuer"
)

// Binding reads the binding of installation $1: app_user_id, key_hash,
// sequence, bound_at, received_at (the key hash as each store keeps it).
const Binding = `SELECT app_user_id, key_hash, sequence, bound_at, received_at
		FROM installation_bindings WHERE installation_id = $1`

// AddPastBinding keeps the binding a rebind replaced: installation $1, app
// user $2, bound at $3 and unbound at $4 (Unix nanoseconds).
const AddPastBinding = `INSERT INTO installation_binding_history
		(installation_id, app_user_id, bound_at, unbound_at) VALUES ($1, $2, $3, $4)`

// BindingHistory reads the bindings of installation $1 that rebinds
// replaced, oldest first, in the order of PastBindings.
const BindingHistory = `SELECT app_user_id, bound_at, unbound_at
		FROM installation_binding_history WHERE installation_id = $1 ORDER BY id`

// PastBindings reads every row of BindingHistory; none is a nil slice.
func PastBindings(rows Rows) ([]issuer.PastBinding, error) {
	var out []issuer.PastBinding
	for rows.Next() {
		var p issuer.PastBinding
		var bound, unbound int64
		if err := rows.Scan(&p.AppUserID, &bound, &unbound); err != nil {
			return nil, err
		}
		p.BoundAt, p.UnboundAt = FromNanos(&bound), FromNanos(&unbound)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
