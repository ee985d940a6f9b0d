package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/vitalsync/vitalsync/issuer"
)

const tableIdentity = "installation_identity"

// InstallationIdentity returns the ID installation reports under and its
// key (issuer.InstallationKeySize bytes), creating them on first use: with
// id when it is not "" (a given ID, as tests pass), or a random 128-bit one
// in hex. installation is the local key of the device's SDK state. Once
// created, the identity stays until RenewInstallationIdentity replaces it;
// a later call's id is ignored. The key is sealed with the database's key.
func (db *DB) InstallationIdentity(ctx context.Context, installation, id string) (string, []byte, error) {
	if installation == "" {
		return "", nil, fmt.Errorf("installation identity: %w", ErrInvalid)
	}
	got, key, ok, err := db.readIdentity(ctx, db.rdb, installation)
	if err != nil || ok {
		return got, key, err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("installation identity: %w", err)
	}
	defer tx.Rollback()
	// Read again under the write lock: a concurrent first use wins once.
	if got, key, ok, err := db.readIdentity(ctx, tx, installation); err != nil || ok {
		return got, key, err
	}
	if id == "" {
		if id, err = newInstallationID(); err != nil {
			return "", nil, fmt.Errorf("installation identity: %w", err)
		}
	}
	if key, err = db.writeIdentity(ctx, tx, installation, id); err != nil {
		return "", nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return "", nil, fmt.Errorf("installation identity: %w", err)
	}
	return id, key, nil
}

// RenewInstallationIdentity replaces installation's identity with a new
// random ID and key and a sequence of 0: what a device does when the issuer
// refuses its installation (issuer.ErrInstallationBound,
// issuer.ErrStaleSequence). It returns the new ID and key.
func (db *DB) RenewInstallationIdentity(ctx context.Context, installation string) (string, []byte, error) {
	if installation == "" {
		return "", nil, fmt.Errorf("renew installation identity: %w", ErrInvalid)
	}
	id, err := newInstallationID()
	if err != nil {
		return "", nil, fmt.Errorf("renew installation identity: %w", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("renew installation identity: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM installation_identity WHERE installation = ?`, installation); err != nil {
		return "", nil, fmt.Errorf("renew installation identity: %w", db.wrap(ctx, err))
	}
	key, err := db.writeIdentity(ctx, tx, installation, id)
	if err != nil {
		return "", nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return "", nil, fmt.Errorf("renew installation identity: %w", err)
	}
	return id, key, nil
}

// NextReportSequence increments installation's report sequence and returns
// it, committed before the report is sent: a retried send carries a higher
// one, never the same twice.
func (db *DB) NextReportSequence(ctx context.Context, installation string) (uint64, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("next report sequence: %w", err)
	}
	defer tx.Rollback()
	var seq int64
	err = tx.QueryRowContext(ctx, `UPDATE installation_identity SET sequence = sequence + 1
		WHERE installation = ? RETURNING sequence`, installation).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("next report sequence: no identity for the installation: %w", ErrInvalid)
	}
	if err != nil {
		return 0, fmt.Errorf("next report sequence: %w", db.wrap(ctx, err))
	}
	if seq <= 0 {
		return 0, &ColumnError{Table: tableIdentity, Column: "sequence", Key: installation, Err: ErrCorrupt}
	}
	if err := tx.commit(ctx); err != nil {
		return 0, fmt.Errorf("next report sequence: %w", err)
	}
	return uint64(seq), nil
}

func (db *DB) writeIdentity(ctx context.Context, tx *tx, installation, id string) ([]byte, error) {
	if issuer.ValidateAppUserID(id) != nil {
		return nil, fmt.Errorf("installation identity: installation ID: %w", ErrInvalid)
	}
	key := make([]byte, issuer.InstallationKeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("installation identity: %w", err)
	}
	sealed, err := db.sealer.seal(tableIdentity, "key", installation, string(key))
	if err != nil {
		return nil, fmt.Errorf("installation identity: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO installation_identity (installation, installation_id, key, sequence, created_at)
		VALUES (?, ?, ?, 0, ?)`, installation, id, sealed, tx.now.UnixNano()); err != nil {
		return nil, fmt.Errorf("installation identity: %w", db.wrap(ctx, err))
	}
	return key, nil
}

func (db *DB) readIdentity(ctx context.Context, q queryer, installation string) (string, []byte, bool, error) {
	var id string
	var sealed []byte
	err := q.QueryRowContext(ctx, `SELECT installation_id, key FROM installation_identity WHERE installation = ?`,
		installation).Scan(&id, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("installation identity: %w", db.wrap(ctx, err))
	}
	key, err := db.sealer.open(tableIdentity, "key", installation, sealed)
	if err != nil {
		return "", nil, false, fmt.Errorf("installation identity: %w", err)
	}
	if len(key) != issuer.InstallationKeySize || issuer.ValidateAppUserID(id) != nil {
		return "", nil, false, fmt.Errorf("installation identity: %w",
			&ColumnError{Table: tableIdentity, Column: "key", Key: installation, Err: ErrCorrupt})
	}
	return id, []byte(key), true, nil
}

// newInstallationID is a random 128-bit installation ID in hex.
func newInstallationID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
