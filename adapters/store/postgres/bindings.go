package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	if err := s.Validate(); err != nil {
		return false, fmt.Errorf("submit report: %w", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return false, fmt.Errorf("submit report: %w", err)
	}
	defer tx.rollback(ctx)
	r := s.Report
	first, _, _ := issuer.Bind(issuer.Binding{}, false, s)
	tag, err := tx.Exec(ctx, `INSERT INTO installation_bindings
		(installation_id, app_user_id, key_hash, sequence, bound_at, received_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (installation_id) DO NOTHING`,
		r.InstallationID, first.AppUserID, first.KeyHash, int64(first.Sequence), first.BoundAt.UnixNano(),
		first.ReceivedAt.UnixNano())
	if err != nil {
		return false, fmt.Errorf("submit report: %w", db.wrap(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		cur, found, err := readBinding(ctx, tx, r.InstallationID, true)
		if err != nil {
			return false, fmt.Errorf("submit report: %w", db.wrap(ctx, err))
		}
		next, replaced, err := issuer.Bind(cur, found, s)
		if err != nil {
			return false, fmt.Errorf("submit report: %w", err)
		}
		if replaced != nil {
			if _, err := tx.Exec(ctx, issuersql.AddPastBinding, r.InstallationID, replaced.AppUserID, replaced.BoundAt.UnixNano(), next.BoundAt.UnixNano()); err != nil {
				return false, fmt.Errorf("submit report: %w", db.wrap(ctx, err))
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE installation_bindings SET app_user_id = $2, key_hash = $3,
			sequence = $4, bound_at = $5, received_at = $6 WHERE installation_id = $1`,
			r.InstallationID, next.AppUserID, next.KeyHash, int64(next.Sequence), next.BoundAt.UnixNano(),
			next.ReceivedAt.UnixNano()); err != nil {
			return false, fmt.Errorf("submit report: %w", db.wrap(ctx, err))
		}
	}
	tag, err = tx.Exec(ctx, issuersql.SubmitReport, append(issuersql.ReportArgs(r), s.ReceivedAt.UnixNano())...)
	if err != nil {
		return false, fmt.Errorf("submit report: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return false, fmt.Errorf("submit report: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

func readBinding(ctx context.Context, q pgx.Tx, installation string, lock bool) (issuer.Binding, bool, error) {
	query := issuersql.Binding
	if lock {
		query += " FOR UPDATE"
	}
	b := issuer.Binding{InstallationID: installation}
	var seq, bound, received int64
	err := q.QueryRow(ctx, query, installation).Scan(&b.AppUserID, &b.KeyHash, &seq, &bound, &received)
	if errors.Is(err, pgx.ErrNoRows) {
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
	tx, err := db.begin(ctx)
	if err != nil {
		return issuer.Binding{}, false, fmt.Errorf("binding: %w", err)
	}
	defer tx.rollback(ctx)
	b, ok, err := readBinding(ctx, tx, installation, false)
	if err != nil {
		return issuer.Binding{}, false, fmt.Errorf("binding: %w", db.wrap(ctx, err))
	}
	return b, ok, nil
}

// BindingHistory returns the bindings of installation that rebinds
// replaced, oldest first.
func (db *DB) BindingHistory(ctx context.Context, installation string) ([]issuer.PastBinding, error) {
	if err := db.check(ctx); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, issuersql.BindingHistory, installation)
	if err != nil {
		return nil, fmt.Errorf("binding history: %w", db.wrap(ctx, err))
	}
	defer rows.Close()
	out, err := issuersql.PastBindings(rows)
	if err != nil {
		return nil, fmt.Errorf("binding history: %w", db.wrap(ctx, err))
	}
	return out, nil
}
