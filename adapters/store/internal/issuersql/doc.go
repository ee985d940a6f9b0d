// Package issuersql is the issuer's tables as the SQLite and PostgreSQL
// stores both read and write them: the statements whose text the two
// dialects share, and the rows of the reports, the user map and the
// binding history as the issuer's types.
//
// Statements number their parameters PostgreSQL's way ($1, $2, …); the
// SQLite store runs them through its numbered form (?1, ?2, …), which binds
// the same arguments to the same places. What the dialects do differently
// (a row lock, an insert that reports a conflict, how a key hash is kept)
// stays in each store.
package issuersql

// Rows is a query's result as both drivers give it (*sql.Rows,
// pgx.Rows); the caller closes it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Scan is a row's Scan method (*sql.Row, pgx.Row, Rows).
type Scan func(dest ...any) error
