package issuersql

import (
	"context"

	"github.com/vitalsync/vitalsync/issuer"
)

// BindingSQL reads the binding of installation $1: app_user_id, key_hash,
// sequence, bound_at, received_at (the key hash as each store keeps it).
const BindingSQL = `SELECT app_user_id, key_hash, sequence, bound_at, received_at
		FROM installation_bindings WHERE installation_id = $1`

// addPastBindingSQL keeps the binding a rebind replaced: installation $1,
// app user $2, bound at $3 and unbound at $4 (Unix nanoseconds).
const addPastBindingSQL = `INSERT INTO installation_binding_history
		(installation_id, app_user_id, bound_at, unbound_at) VALUES ($1, $2, $3, $4)`

// bindingHistorySQL reads the bindings of installation $1 that rebinds
// replaced, oldest first.
const bindingHistorySQL = `SELECT app_user_id, bound_at, unbound_at
		FROM installation_binding_history WHERE installation_id = $1 ORDER BY id`

// SubmitReport applies issuer.Bind to the installation's binding and stores
// the report unless the stored one was received later (issuer.ReportStore),
// in one transaction of c: bind is the store's step on the binding (its
// read, issuer.Bind, its write), whose error comes back as it is. A
// submission that fails Validate is refused first.
func SubmitReport(ctx context.Context, c Conn, s issuer.Submission,
	bind func(ctx context.Context, tx Tx, s issuer.Submission) error,
) (bool, error) {
	if err := s.Validate(); err != nil {
		return false, opError("submit report", err)
	}
	var n int64
	err := inTx(ctx, c, "submit report", func(tx Tx) error {
		if err := bind(ctx, tx, s); err != nil {
			return err
		}
		var err error
		n, err = tx.Exec(ctx, submitReportSQL, append(ReportArgs(s.Report), s.ReceivedAt.UnixNano())...)
		return err
	})
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// Rebind applies issuer.Bind to the stored binding cur (found: there is
// one) in tx and keeps the binding it replaces, if any, in the history; it
// returns the binding the store then writes. issuer.Bind's refusal comes
// back as it is.
func Rebind(ctx context.Context, tx Tx, cur issuer.Binding, found bool, s issuer.Submission) (issuer.Binding, error) {
	next, replaced, err := issuer.Bind(cur, found, s)
	if err != nil {
		return issuer.Binding{}, err
	}
	if replaced != nil {
		if _, err := tx.Exec(ctx, addPastBindingSQL, s.Report.InstallationID,
			replaced.AppUserID, replaced.BoundAt.UnixNano(), next.BoundAt.UnixNano()); err != nil {
			return issuer.Binding{}, err
		}
	}
	return next, nil
}

// BindingHistory returns the bindings of installation that rebinds
// replaced, oldest first.
func BindingHistory(ctx context.Context, c Conn, installation string) ([]issuer.PastBinding, error) {
	var out []issuer.PastBinding
	err := read(ctx, c, "binding history", bindingHistorySQL, []any{installation}, func(rows Rows) error {
		for rows.Next() {
			var p issuer.PastBinding
			var bound, unbound int64
			if err := rows.Scan(&p.AppUserID, &bound, &unbound); err != nil {
				return err
			}
			p.BoundAt, p.UnboundAt = FromNanos(&bound), FromNanos(&unbound)
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
