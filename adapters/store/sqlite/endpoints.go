package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrEndpointsChanged means RememberEndpoints was given other base URLs than
// the ones the database remembers, without replace.
var ErrEndpointsChanged = errors.New("sqlite: the database remembers other base URLs")

// ErrNoEndpoints means ResolveEndpoints was not given both base URLs and
// the database remembers none to complete them.
var ErrNoEndpoints = errors.New("no Junction base URLs")

// Endpoints are the base URLs of the Junction API and auth server that a
// device database's SDK installations talk to.
type Endpoints struct {
	APIBaseURL  string
	AuthBaseURL string
	// UpdatedAt is when they were remembered; set by RememberEndpoints.
	UpdatedAt time.Time
}

// same reports whether e and o name the same base URLs.
func (e Endpoints) same(o Endpoints) bool {
	return e.APIBaseURL == o.APIBaseURL && e.AuthBaseURL == o.AuthBaseURL
}

const tableEndpoints = "endpoints"

// LoadEndpoints returns the remembered base URLs, and false when none are.
func (db *DB) LoadEndpoints(ctx context.Context) (Endpoints, bool, error) {
	if err := db.check(ctx); err != nil {
		return Endpoints{}, false, err
	}
	var e Endpoints
	var at int64
	err := db.rdb.QueryRowContext(ctx, `SELECT api_url, auth_url, updated_at FROM endpoints WHERE id = 1`).
		Scan(&e.APIBaseURL, &e.AuthBaseURL, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Endpoints{}, false, nil
	}
	if err != nil {
		return Endpoints{}, false, fmt.Errorf("load endpoints: %w", db.wrap(ctx, err))
	}
	if err := checkEndpoints(e, ErrCorrupt); err != nil {
		return Endpoints{}, false, fmt.Errorf("load endpoints: %w", err)
	}
	e.UpdatedAt = time.Unix(0, at).UTC()
	return e, true, nil
}

// RememberEndpoints stores e as the database's base URLs when it remembers
// none, and returns what is remembered afterwards. When it remembers others,
// it replaces them if replace is set, and otherwise changes nothing and
// returns the remembered ones with an error matching ErrEndpointsChanged.
// Remembering the same URLs again writes nothing. An empty URL is a
// *ColumnError wrapping ErrInvalid.
func (db *DB) RememberEndpoints(ctx context.Context, e Endpoints, replace bool) (Endpoints, error) {
	if err := checkEndpoints(e, ErrInvalid); err != nil {
		return Endpoints{}, fmt.Errorf("remember endpoints: %w", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return Endpoints{}, fmt.Errorf("remember endpoints: %w", err)
	}
	defer tx.Rollback()
	old, found, err := tx.loadEndpoints(ctx)
	if err != nil {
		return Endpoints{}, fmt.Errorf("remember endpoints: %w", db.wrap(ctx, err))
	}
	switch {
	case found && old.same(e):
		return old, nil // nothing to write
	case found && !replace:
		return old, fmt.Errorf("remember endpoints: %w", ErrEndpointsChanged)
	}
	e.UpdatedAt = tx.now
	if err := tx.saveEndpoints(ctx, e); err != nil {
		return Endpoints{}, fmt.Errorf("remember endpoints: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return Endpoints{}, fmt.Errorf("remember endpoints: %w", err)
	}
	return e, nil
}

func (tx *tx) loadEndpoints(ctx context.Context) (Endpoints, bool, error) {
	var e Endpoints
	var at int64
	err := tx.QueryRowContext(ctx, `SELECT api_url, auth_url, updated_at FROM endpoints WHERE id = 1`).
		Scan(&e.APIBaseURL, &e.AuthBaseURL, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Endpoints{}, false, nil
	}
	if err != nil {
		return Endpoints{}, false, err
	}
	e.UpdatedAt = time.Unix(0, at).UTC()
	return e, true, nil
}

func (tx *tx) saveEndpoints(ctx context.Context, e Endpoints) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO endpoints (id, api_url, auth_url, updated_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			api_url = excluded.api_url, auth_url = excluded.auth_url, updated_at = excluded.updated_at`,
		e.APIBaseURL, e.AuthBaseURL, e.UpdatedAt.UnixNano())
	return err
}

// checkEndpoints returns a *ColumnError wrapping cause for an empty URL.
func checkEndpoints(e Endpoints, cause error) error {
	switch {
	case e.APIBaseURL == "":
		return &ColumnError{Table: tableEndpoints, Column: "api_url", Key: "1", Err: cause}
	case e.AuthBaseURL == "":
		return &ColumnError{Table: tableEndpoints, Column: "auth_url", Key: "1", Err: cause}
	}
	return nil
}

// ResolveEndpoints decides which base URLs a command on the database uses:
// the ones given, a missing one taken from what it remembers; or else the
// remembered ones. The first URLs used are remembered (RememberEndpoints);
// other ones later are refused with an error matching ErrEndpointsChanged
// that names both, unless replace, which remembers them instead. With
// neither given nor remembered, or only one of the two, it returns an error
// matching ErrNoEndpoints. Resolving to the remembered URLs writes nothing.
func (db *DB) ResolveEndpoints(ctx context.Context, given Endpoints, replace bool) (Endpoints, error) {
	stored, found, err := db.LoadEndpoints(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	want := given
	if found {
		if want.APIBaseURL == "" {
			want.APIBaseURL = stored.APIBaseURL
		}
		if want.AuthBaseURL == "" {
			want.AuthBaseURL = stored.AuthBaseURL
		}
		if want.same(stored) {
			return stored, nil
		}
	}
	if want.APIBaseURL == "" || want.AuthBaseURL == "" {
		return Endpoints{}, fmt.Errorf("%w: the database remembers none", ErrNoEndpoints)
	}
	got, err := db.RememberEndpoints(ctx, want, replace)
	if errors.Is(err, ErrEndpointsChanged) {
		return Endpoints{}, fmt.Errorf("%w: it was first used with API %s and auth %s, not API %s and auth %s",
			ErrEndpointsChanged, got.APIBaseURL, got.AuthBaseURL, want.APIBaseURL, want.AuthBaseURL)
	}
	return got, err
}
