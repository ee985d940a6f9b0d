// Package issuersql is the issuer's tables as the SQLite and PostgreSQL
// stores both keep them: the statements whose text the two dialects share,
// the rows of the reports, the user map and the binding history as the
// issuer's types, and the store methods whose steps are the same on both
// (LookupUser, PutUser, MarkUserDeleted, UserHistory, BindingHistory,
// PutReport, SubmitReport, LatestReport), run on a Conn each store gives
// over its driver.
//
// Statements number their parameters PostgreSQL's way ($1, $2, …); the
// SQLite store runs them in its numbered form (?1, ?2, …), which binds the
// same arguments to the same places. What the dialects do differently (the
// first insert of a mapping or a binding, a row lock, how a key hash is
// kept, the errors a value that is empty or does not parse is) stays in each
// store, passed in where a method needs it.
package issuersql

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoRows is a Row's Scan when the query found no row.
var ErrNoRows = errors.New("issuersql: no rows")

// Row is one row of a query (Rows, a Conn's or a Tx's QueryRow).
type Row interface {
	Scan(dest ...any) error
}

// Rows is a query's result as both drivers give it (*sql.Rows,
// pgx.Rows); the one who ran the query closes it.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// Conn is a store's database as the methods here use it: its driver, in its
// dialect, with its error rules. Every error it and its Tx return is the
// store's own already (ErrClosed, ctx.Err(), the driver's error as the
// store classifies it), but a Row's ErrNoRows.
type Conn interface {
	// Check is what a call tells before it starts: the store closed, a
	// done ctx.
	Check(ctx context.Context) error
	// QueryRow runs a read of one row on the store's read connections.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a read on the store's read connections and hands its rows
	// to read, closing them after.
	Query(ctx context.Context, query string, args []any, read func(Rows) error) error
	// Begin starts a write transaction.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is a store's write transaction.
type Tx interface {
	// Exec runs a write and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a read of one row in the transaction.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Now is the store clock's time at the transaction's start.
	Now() time.Time
	// Commit commits the transaction.
	Commit(ctx context.Context) error
	// Rollback ends the transaction if Commit did not; for defer.
	Rollback(ctx context.Context)
}

// DriverRow is a driver's row, read for ctx, as a Conn gives it: its Scan
// says no row (the driver's noRows) with ErrNoRows and passes any other
// error through wrap, the store's error rules.
func DriverRow(ctx context.Context, row Row, noRows error, wrap func(context.Context, error) error) Row {
	return driverRow{ctx, row, noRows, wrap}
}

type driverRow struct {
	ctx    context.Context
	row    Row
	noRows error
	wrap   func(context.Context, error) error
}

func (r driverRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, r.noRows) {
		return ErrNoRows
	}
	if err != nil {
		return r.wrap(r.ctx, err)
	}
	return nil
}

// inTx runs fn in one transaction of c and commits it; op names the call
// in its errors, and fn's come back as they are, behind op.
func inTx(ctx context.Context, c Conn, op string, fn func(Tx) error) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return opError(op, err)
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return opError(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return opError(op, err)
	}
	return nil
}

// read runs query on c and hands its rows to collect; op names the call in
// its errors.
func read(ctx context.Context, c Conn, op, query string, args []any, collect func(Rows) error) error {
	if err := c.Check(ctx); err != nil {
		return err
	}
	if err := c.Query(ctx, query, args, collect); err != nil {
		return opError(op, err)
	}
	return nil
}

// lookup reads the one row of query on c with scan, and false if there is
// none; op names the call in its errors.
func lookup[T any](ctx context.Context, c Conn, op, query string, scan func(Row) (T, error), args ...any) (T, bool, error) {
	var zero T
	if err := c.Check(ctx); err != nil {
		return zero, false, err
	}
	v, err := scan(c.QueryRow(ctx, query, args...))
	if errors.Is(err, ErrNoRows) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, opError(op, err)
	}
	return v, true, nil
}

// opError is err behind the name of the call that failed.
func opError(op string, err error) error { return fmt.Errorf("%s: %w", op, err) }
