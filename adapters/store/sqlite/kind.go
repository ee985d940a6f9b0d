package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kind is what a database file is for: a device's (OpenDevice) or an
// issuer's (OpenIssuer). Each kind holds only its own tables; the two share
// their first migrations (1 to 10, when one schema served every file) and
// diverge from migration 11, which drops the other kind's tables and marks
// the file with the kind's application_id.
type Kind int

// The kinds of file.
const (
	// KindDevice is a device database: the SDK's state (devices), the
	// journal and its history, the remembered endpoints, the report log
	// and the installation's identity.
	KindDevice Kind = iota + 1
	// KindIssuer is an issuer database: the user map, the installation
	// reports and the installations' bindings.
	KindIssuer
)

// String returns "device" or "issuer".
func (k Kind) String() string {
	switch k {
	case KindDevice:
		return "device"
	case KindIssuer:
		return "issuer"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// other returns the other kind.
func (k Kind) other() Kind {
	if k == KindDevice {
		return KindIssuer
	}
	return KindDevice
}

// sharedVersion is the last migration both kinds share: a file at or
// below it (application_id 0) holds both kinds' tables.
const sharedVersion = 10

// applicationID is the PRAGMA application_id migration 11 sets per kind
// ("VSDV", "VSIS").
func (k Kind) applicationID() int {
	switch k {
	case KindDevice:
		return 0x56534456
	case KindIssuer:
		return 0x56534953
	}
	return 0
}

// kindOf returns the kind an application_id marks, or 0.
func kindOf(appID int) Kind {
	for _, k := range []Kind{KindDevice, KindIssuer} {
		if k.applicationID() == appID {
			return k
		}
	}
	return 0
}

// kindTables lists each kind's tables as of the shared schema.
var kindTables = map[Kind][]string{
	KindDevice: {tableDevices, "journal", tableEvents, "endpoints", "report_log", "installation_identity"},
	KindIssuer: {"user_map", "reports", "installation_bindings", "installation_binding_history"},
}

var (
	// ErrWrongKind means a file, or a call, is of the other kind: a device
	// database given to OpenIssuer, or the reverse. It is wrapped in a
	// *KindError.
	ErrWrongKind = errors.New("sqlite: the database is of another kind")
	// ErrMixedFile means a file from before the split holds rows in both
	// a device's tables and an issuer's: no Open takes it, and nothing is
	// dropped. Split writes its halves to two new files (vitalsync split);
	// vitalsync doctor names it.
	ErrMixedFile = errors.New("sqlite: the database holds both a device's rows and an issuer's: split it in two (sqlite.Split, vitalsync split)")
)

// KindError reports a database of another kind than the one asked for.
type KindError struct {
	Want, Got Kind
	// Legacy says the file is from before the split: it holds only the
	// other kind's rows.
	Legacy bool
}

// Error implements error.
func (e *KindError) Error() string {
	if e.Legacy {
		return fmt.Sprintf("sqlite: expected %s database, and this file from before the split holds only %s rows", withArticle(e.Want), e.Got)
	}
	return fmt.Sprintf("sqlite: expected %s database, found %s database", withArticle(e.Want), withArticle(e.Got))
}

// Unwrap returns ErrWrongKind.
func (e *KindError) Unwrap() error { return ErrWrongKind }

func withArticle(k Kind) string {
	if k == KindIssuer {
		return "an issuer"
	}
	return "a " + k.String()
}

// halvesWithRows reports which kinds' tables hold rows in a file from
// before the split (tables a file's version has not created count as
// empty).
func halvesWithRows(ctx context.Context, q queryer) (map[Kind]bool, error) {
	out := map[Kind]bool{}
	for k, tables := range kindTables {
		for _, t := range tables {
			var exists bool
			if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?)`, t).Scan(&exists); err != nil {
				return nil, classify(err)
			}
			if !exists {
				continue
			}
			var rows bool
			if err := q.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+quoteIdent(t)+")").Scan(&rows); err != nil {
				return nil, classify(err)
			}
			if rows {
				out[k] = true
				break
			}
		}
	}
	return out, nil
}

// checkHalves decides whether a file from before the split may become a
// file of kind k: not when both halves hold rows (ErrMixedFile), nor when
// only the other kind's does (a *KindError).
func checkHalves(ctx context.Context, q queryer, k Kind) error {
	rows, err := halvesWithRows(ctx, q)
	if err != nil {
		return err
	}
	switch {
	case rows[k] && rows[k.other()]:
		return ErrMixedFile
	case rows[k.other()]:
		return &KindError{Want: k, Got: k.other(), Legacy: true}
	}
	return nil
}

// checkKind reads the file's application_id against k and its schema
// version: the other kind's mark is a *KindError, an unknown mark, a kind's
// mark on a shared version or a version past the shared ones without a
// mark ErrCorrupt.
func checkKind(ctx context.Context, q queryer, k Kind, version int) (legacy bool, err error) {
	var appID int
	if err := q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return false, classify(err)
	}
	got := kindOf(appID)
	switch {
	case appID == 0 && version <= sharedVersion:
		return true, nil
	case appID == 0:
		return false, fmt.Errorf("%w: schema version %d without a kind (application_id 0)", ErrCorrupt, version)
	case got == 0:
		return false, fmt.Errorf("%w: application_id %#x is not a vitalsync database's", ErrCorrupt, appID)
	case got != k:
		return false, &KindError{Want: k, Got: got}
	case version <= sharedVersion:
		return false, fmt.Errorf("%w: %s database at the shared schema version %d", ErrCorrupt, k, version)
	}
	return false, nil
}

// noSuchTable reports whether err is SQLite's "no such table", the error of
// a call of one kind on a database of the other.
func noSuchTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}
