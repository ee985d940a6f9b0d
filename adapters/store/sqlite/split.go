package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Split writes the two halves of a database file from before the split
// (schema version 10 or older, both kinds' tables) to two new files:
// devicePath gets the device's tables and rows, issuerPath the issuer's,
// each migrated to its kind, and the key file path+".key" is copied beside
// both (mode 0600). path itself is not changed, and no row is dropped from
// it: it may be removed once both halves open. The new files must not
// exist. A file that already has a kind is refused with ErrWrongKind.
//
// Split copies with VACUUM INTO from a read-only connection, so path should
// not be written while it runs; the halves are checked with OpenDevice and
// OpenIssuer before Split returns. On an error the new files are removed.
func Split(ctx context.Context, path, devicePath, issuerPath string) (err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	shared, err := loadMigrations(KindDevice)
	if err != nil {
		return err
	}
	st, err := validate(ctx, abs, KindDevice, shared, exists(abs+".key"))
	var ke *KindError
	switch {
	case errors.Is(err, ErrMixedFile), errors.As(err, &ke) && ke.Legacy:
		// What Split is for.
	case errors.As(err, &ke):
		return fmt.Errorf("split %s: it is already %s database: %w", path, withArticle(ke.Got), ErrWrongKind)
	case err != nil:
		return &OpenError{Path: path, Err: err}
	case st.empty:
		return &OpenError{Path: path, Err: fmt.Errorf("%w: the file is empty", ErrNotDatabase)}
	}
	if st.version > sharedVersion {
		return fmt.Errorf("split %s: it is already a device database: %w", path, ErrWrongKind)
	}
	dests := []struct {
		path string
		kind Kind
	}{{devicePath, KindDevice}, {issuerPath, KindIssuer}}
	for _, d := range dests {
		if exists(d.path) || exists(d.path+".key") {
			return fmt.Errorf("split %s: %s: %w", path, d.path, fs.ErrExist)
		}
	}
	var made []string
	defer func() {
		if err != nil {
			for _, p := range made {
				os.Remove(p)
			}
		}
	}()
	ro, err := openReadOnly(abs)
	if err != nil {
		return err
	}
	defer ro.Close()
	key, keyErr := os.ReadFile(abs + ".key")
	if keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist) {
		return keyErr
	}
	for _, d := range dests {
		// VACUUM INTO writes into an empty file: created first, with the
		// database's mode.
		f, err := os.OpenFile(d.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		f.Close()
		made = append(made, d.path)
		if _, err := ro.ExecContext(ctx, "VACUUM INTO ?", d.path); err != nil {
			return fmt.Errorf("split %s: copy to %s: %w", path, d.path, classify(err))
		}
		if err := splitHalf(ctx, d.path, d.kind); err != nil {
			return fmt.Errorf("split %s: %s: %w", path, d.path, err)
		}
		if keyErr == nil {
			made = append(made, d.path+".key")
			if err := os.WriteFile(d.path+".key", key, 0o600); err != nil {
				return err
			}
		}
	}
	for _, d := range dests {
		db, err := open(ctx, d.path, d.kind, nil)
		if err != nil {
			return fmt.Errorf("split %s: the %s half does not open: %w", path, d.kind, err)
		}
		if err := db.Close(); err != nil {
			return err
		}
	}
	return nil
}

// splitHalf migrates a copy to the shared schema's newest version, then to
// kind k, dropping the other kind's tables with their rows (they live on in
// the other half).
func splitHalf(ctx context.Context, path string, k Kind) error {
	migs, err := loadMigrations(k)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", writerDSN(path))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, k, migs[:sharedVersion]); err != nil {
		return classify(err)
	}
	return classify(applyMigration(ctx, db, migs[sharedVersion], nil))
}
