package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/issuer"
)

const tableBindings = "installation_bindings"

// SubmitReport applies issuer.Bind to the installation's binding and
// stores the report unless the stored one was received later (see
// issuer.ReportStore), in one transaction: a refusal, a failure or a done
// context changes nothing.
func (db *DB) SubmitReport(ctx context.Context, s issuer.Submission) (bool, error) {
	return issuersql.SubmitReport(ctx, conn{db}, s, bind)
}

// bind is SubmitReport's step on the binding: its read, issuer.Bind, and
// its upsert, under BEGIN IMMEDIATE.
func bind(ctx context.Context, tx issuersql.Tx, s issuer.Submission) error {
	r := s.Report
	cur, found, err := readBinding(ctx, tx, r.InstallationID)
	if err != nil {
		return err
	}
	next, err := issuersql.Rebind(ctx, tx, cur, found, s)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO installation_bindings
		(installation_id, app_user_id, key_hash, sequence, bound_at, received_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation_id) DO UPDATE SET app_user_id = excluded.app_user_id,
			key_hash = excluded.key_hash, sequence = excluded.sequence, bound_at = excluded.bound_at,
			received_at = excluded.received_at`,
		r.InstallationID, next.AppUserID, hexOrNull(next.KeyHash), int64(next.Sequence), next.BoundAt.UnixNano(),
		next.ReceivedAt.UnixNano())
	return err
}

// hexOrNull is a key hash as the bindings keep it.
func hexOrNull(h []byte) sql.NullString {
	if h == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: hex.EncodeToString(h), Valid: true}
}

// rowReader reads one row: a conn, or a transaction of one.
type rowReader interface {
	QueryRow(ctx context.Context, query string, args ...any) issuersql.Row
}

func readBinding(ctx context.Context, q rowReader, installation string) (issuer.Binding, bool, error) {
	b := issuer.Binding{InstallationID: installation}
	var seq, bound, received int64
	var keyHash sql.NullString
	err := q.QueryRow(ctx, issuersql.BindingSQL, installation).Scan(&b.AppUserID, &keyHash, &seq, &bound, &received)
	if errors.Is(err, issuersql.ErrNoRows) {
		return issuer.Binding{}, false, nil
	}
	if err != nil {
		return issuer.Binding{}, false, err
	}
	if seq < 0 {
		return b, false, &ColumnError{Table: tableBindings, Column: "sequence", Key: installation, Err: ErrCorrupt}
	}
	if keyHash.Valid {
		h, err := hex.DecodeString(keyHash.String)
		if err != nil || len(h) != sha256.Size || hex.EncodeToString(h) != keyHash.String {
			return b, false, &ColumnError{Table: tableBindings, Column: "key_hash", Key: installation, Err: ErrCorrupt}
		}
		b.KeyHash = h
	}
	b.Sequence = uint64(seq)
	b.BoundAt, b.ReceivedAt = issuersql.FromNanos(&bound), issuersql.FromNanos(&received)
	return b, true, nil
}

// Binding returns the installation's binding, and false if it has none.
func (db *DB) Binding(ctx context.Context, installation string) (issuer.Binding, bool, error) {
	if err := db.check(ctx); err != nil {
		return issuer.Binding{}, false, err
	}
	b, ok, err := readBinding(ctx, conn{db}, installation)
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

// CheckWrite commits one write that changes nothing (the schema version,
// set to itself, in an immediate transaction that holds off every other
// writer) and checkpoints it into the file: what a readiness probe asks,
// since only a write meets a full disk, a read-only mount or file, or an
// immutable file. Its error matches issuer.ErrStoreUnavailable then.
func (db *DB) CheckWrite(ctx context.Context) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("check write: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("check write: %w", db.wrap(ctx, err))
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		return fmt.Errorf("check write: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("check write: %w", err)
	}
	// The commit went to the WAL; a passive checkpoint writes the database
	// file itself (a read-only or immutable file fails there), waiting for
	// no reader.
	var busy, logFrames, done int
	if err := db.wdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("check write: checkpoint: %w", db.wrap(ctx, err))
	}
	return nil
}
