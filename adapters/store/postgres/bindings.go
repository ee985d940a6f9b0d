package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

// SubmitReport applies issuer.Bind to the installation's binding and
// stores the report unless the stored one was received later
// (issuer.ReportStore), in one transaction. The binding's row is locked
// (a first report inserts it, and a concurrent first report of the same
// installation, on any replica, waits for that insert and then reads it),
// so concurrent reports of one installation are decided one at a time.
func (db *DB) SubmitReport(ctx context.Context, s issuer.Submission) (bool, error) {
	return issuersql.SubmitReport(ctx, conn{db}, s, bind)
}

// bind is SubmitReport's step on the binding: the insert of a first
// binding, or else the read of the stored one under a row lock, issuer.Bind,
// and its update.
func bind(ctx context.Context, tx issuersql.Tx, s issuer.Submission) error {
	r := s.Report
	first, _, _ := issuer.Bind(issuer.Binding{}, false, s)
	n, err := tx.Exec(ctx, `INSERT INTO installation_bindings
		(installation_id, app_user_id, key_hash, sequence, bound_at, received_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (installation_id) DO NOTHING`,
		r.InstallationID, first.AppUserID, first.KeyHash, int64(first.Sequence), first.BoundAt.UnixNano(),
		first.ReceivedAt.UnixNano())
	if err != nil || n > 0 {
		return err
	}
	cur, found, err := readBinding(ctx, tx, r.InstallationID, true)
	if err != nil {
		return err
	}
	next, err := issuersql.Rebind(ctx, tx, cur, found, s)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE installation_bindings SET app_user_id = $2, key_hash = $3,
		sequence = $4, bound_at = $5, received_at = $6 WHERE installation_id = $1`,
		r.InstallationID, next.AppUserID, next.KeyHash, int64(next.Sequence), next.BoundAt.UnixNano(),
		next.ReceivedAt.UnixNano())
	return err
}

// rowReader reads one row: a conn, or a transaction of one.
type rowReader interface {
	QueryRow(ctx context.Context, query string, args ...any) issuersql.Row
}

func readBinding(ctx context.Context, q rowReader, installation string, lock bool) (issuer.Binding, bool, error) {
	query := issuersql.BindingSQL
	if lock {
		query += " FOR UPDATE"
	}
	b := issuer.Binding{InstallationID: installation}
	var seq, bound, received int64
	err := q.QueryRow(ctx, query, installation).Scan(&b.AppUserID, &b.KeyHash, &seq, &bound, &received)
	if errors.Is(err, issuersql.ErrNoRows) {
		return issuer.Binding{}, false, nil
	}
	if err != nil {
		return issuer.Binding{}, false, err
	}
	if seq < 0 || (b.KeyHash != nil && len(b.KeyHash) != 32) {
		return b, false, &ColumnError{Column: "installation_bindings.sequence", Key: installation, Err: ErrCorrupt}
	}
	b.Sequence = uint64(seq)
	b.BoundAt, b.ReceivedAt = issuersql.FromNanos(&bound), issuersql.FromNanos(&received)
	return b, true, nil
}

// Binding returns the installation's binding, and false if it has none.
func (db *DB) Binding(ctx context.Context, installation string) (issuer.Binding, bool, error) {
	tx, err := conn{db}.Begin(ctx)
	if err != nil {
		return issuer.Binding{}, false, fmt.Errorf("binding: %w", err)
	}
	defer tx.Rollback(ctx)
	b, ok, err := readBinding(ctx, tx, installation, false)
	if err != nil {
		return issuer.Binding{}, false, fmt.Errorf("binding: %w", err)
	}
	return b, ok, nil
}

// BindingHistory returns the bindings of installation that rebinds
// replaced, oldest first.
func (db *DB) BindingHistory(ctx context.Context, installation string) ([]issuer.PastBinding, error) {
	return issuersql.BindingHistory(ctx, conn{db}, installation)
}
