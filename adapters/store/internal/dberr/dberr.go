// Package dberr is how the SQLite and PostgreSQL stores tell what a call
// failed of, in one order: the DB closed, then the caller's context done,
// then the driver's error, marked as issuer.ErrStoreUnavailable when it
// may pass.
package dberr

import (
	"context"

	"github.com/vitalsync/vitalsync/issuer"
)

// Check is what a call tells before it starts: errClosed once the DB is
// closed, ctx.Err() for a done ctx, and nil otherwise.
func Check(ctx context.Context, closed bool, errClosed error) error {
	if closed {
		return errClosed
	}
	return ctx.Err()
}

// Wrap is what a call that failed with err tells: nil for nil, errClosed
// once the DB is closed, ctx.Err() once ctx is done, and otherwise the
// driver's error as the store's driver reads it.
func Wrap(ctx context.Context, closed bool, errClosed, err error, driver func(error) error) error {
	if err == nil {
		return nil
	}
	if cause := Check(ctx, closed, errClosed); cause != nil {
		return cause
	}
	return driver(err)
}

// unavailableError is a failure that may pass: it matches
// issuer.ErrStoreUnavailable as well as its cause.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == issuer.ErrStoreUnavailable }

// Unavailable marks err as a failure that may pass: the result matches
// issuer.ErrStoreUnavailable as well as err.
func Unavailable(err error) error { return &unavailableError{err} }
