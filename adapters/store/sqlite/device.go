package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

const tableDevices = "devices"

// loadDeviceSQL reads one installation's SDK state; prepared once at Open,
// as it runs at every launch.
const loadDeviceSQL = `
	SELECT strategy, environment, region, api_key, api_key_user_id, external_user_id,
		startup_strategy, startup_user_id, has_token, token_user_id, token_team_id,
		token_tenant_id, token_environment, token_region, access_token, refresh_token,
		token_expiry, pending_reauth, token_public_key
	FROM devices WHERE installation = ?`

// LoadDevice returns the state of installation, and false if none is stored
// (vitalsdk.Store). A stored value that does not parse is a *ColumnError
// wrapping ErrCorrupt; a secret that does not open with the DB's key, one
// wrapping ErrBadKey.
func (db *DB) LoadDevice(ctx context.Context, installation string) (vitalsdk.DeviceState, bool, error) {
	if err := db.check(ctx); err != nil {
		return vitalsdk.DeviceState{}, false, err
	}
	if db.kind != KindDevice {
		return vitalsdk.DeviceState{}, false, &KindError{Want: KindDevice, Got: db.kind}
	}
	var (
		s                       vitalsdk.DeviceState
		r                       vitalsdk.TokenRecord
		apiKey, access, refresh []byte
		hasToken                bool
		expiry                  sql.NullInt64
	)
	err := db.loadDevice.QueryRowContext(ctx, installation).Scan(
		&s.Strategy, &s.Environment, &s.Region, &apiKey, &s.APIKeyUserID, &s.ExternalUserID,
		&s.StartupStrategy, &s.StartupUserID, &hasToken, &r.UserID, &r.TeamID,
		&r.TenantID, &r.Environment, &r.Region, &access, &refresh,
		&expiry, &r.PendingReauth, &r.PublicAPIKey)
	if errors.Is(err, sql.ErrNoRows) {
		return vitalsdk.DeviceState{}, false, nil
	}
	if err != nil {
		return vitalsdk.DeviceState{}, false, fmt.Errorf("load device: %w", db.wrap(ctx, err))
	}
	s.Installation = installation
	if hasToken {
		r.Expiry = fromNanos(expiry)
		s.Record = &r
	}
	if err := checkDevice(s, true); err != nil {
		return vitalsdk.DeviceState{}, false, fmt.Errorf("load device: %w", err)
	}
	if s.APIKey, err = db.sealer.open(tableDevices, "api_key", installation, apiKey); err != nil {
		return vitalsdk.DeviceState{}, false, fmt.Errorf("load device: %w", err)
	}
	if s.Record != nil {
		if r.AccessToken, err = db.sealer.open(tableDevices, "access_token", installation, access); err != nil {
			return vitalsdk.DeviceState{}, false, fmt.Errorf("load device: %w", err)
		}
		if r.RefreshToken, err = db.sealer.open(tableDevices, "refresh_token", installation, refresh); err != nil {
			return vitalsdk.DeviceState{}, false, fmt.Errorf("load device: %w", err)
		}
	}
	return s, true, nil
}

// SaveDevice stores s as the whole state of s.Installation, replacing what
// was stored (a nil Record removes the token record), in one transaction
// (vitalsdk.Store). A state that fails s.Validate is a *ColumnError, named
// by the field, that matches ErrInvalid and carries the *vitalsdk.StateError
// (so vitalsdk.ErrInvalidState matches too).
func (db *DB) SaveDevice(ctx context.Context, s vitalsdk.DeviceState) error {
	if err := checkDevice(s, false); err != nil {
		return fmt.Errorf("save device: %w", err)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("save device: %w", err)
	}
	defer tx.Rollback()
	if err := tx.saveDevice(ctx, s); err != nil {
		return fmt.Errorf("save device: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("save device: %w", err)
	}
	return nil
}

func (tx *tx) saveDevice(ctx context.Context, s vitalsdk.DeviceState) error {
	var r vitalsdk.TokenRecord
	if s.Record != nil {
		r = *s.Record
	}
	var sealed [3][]byte
	for i, v := range []struct{ column, plaintext string }{
		{"api_key", s.APIKey}, {"access_token", r.AccessToken}, {"refresh_token", r.RefreshToken},
	} {
		var err error
		if sealed[i], err = tx.db.sealer.seal(tableDevices, v.column, s.Installation, v.plaintext); err != nil {
			return err
		}
	}
	apiKey, access, refresh := sealed[0], sealed[1], sealed[2]
	_, err := tx.ExecContext(ctx, `
		INSERT OR REPLACE INTO devices (installation, strategy, environment, region, api_key,
			api_key_user_id, external_user_id, startup_strategy, startup_user_id, has_token,
			token_user_id, token_team_id, token_tenant_id, token_environment, token_region,
			access_token, refresh_token, token_expiry, pending_reauth, token_public_key, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Installation, string(s.Strategy), string(s.Environment), string(s.Region), apiKey,
		s.APIKeyUserID, s.ExternalUserID, string(s.StartupStrategy), s.StartupUserID, s.Record != nil,
		r.UserID, r.TeamID, r.TenantID, string(r.Environment), string(r.Region),
		access, refresh, nanos(r.Expiry), r.PendingReauth, r.PublicAPIKey, tx.now.UnixNano())
	return err
}

// DeleteDevice erases the SDK state of installation, token record and
// secrets included, in one transaction: what a sign-out erases. The
// reconcile journal is not device state and stays. Deleting a missing
// installation is not an error.
func (db *DB) DeleteDevice(ctx context.Context, installation string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE installation = ?`, installation); err != nil {
		return fmt.Errorf("delete device: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}

// checkDevice validates s with s.Validate. A bad field is a *ColumnError
// of the column of that name (the columns are named like the fields). On
// load (stored is true) it wraps ErrCorrupt; on save, an error matching
// ErrInvalid that carries Validate's *vitalsdk.StateError too.
func checkDevice(s vitalsdk.DeviceState, stored bool) error {
	err := s.Validate()
	if err == nil {
		return nil
	}
	column := "?"
	var se *vitalsdk.StateError
	if errors.As(err, &se) {
		column = se.Field
	}
	kind := ErrCorrupt
	if !stored {
		kind = &domainError{storage: ErrInvalid, domain: err}
	}
	return &ColumnError{Table: tableDevices, Column: column, Key: s.Installation, Err: kind}
}

// domainError is one of this package's sentinels together with the
// consuming package's error for the same failure (its sentinel, or a typed
// error that matches one), so that errors.Is finds both; it reads as the
// former.
type domainError struct{ storage, domain error }

// Error implements error.
func (e *domainError) Error() string { return e.storage.Error() }

// Unwrap returns both sentinels.
func (e *domainError) Unwrap() []error { return []error{e.storage, e.domain} }

// validEnvironment accepts a known environment, or "" for none.
func validEnvironment(e fsm.Environment) bool { return e.KnownOrNone() }

// validRegion accepts a known region, or "" for none.
func validRegion(r fsm.Region) bool { return r.KnownOrNone() }

// validProfile accepts a known fsm profile name.
func validProfile(name string) bool {
	_, ok := fsm.ParseProfile(name)
	return ok
}

// validState accepts a known fsm state.
func validState(st fsm.State) bool {
	_, ok := fsm.ParseState(string(st))
	return ok
}
