package sqlite

import (
	"context"

	"github.com/vitalsync/vitalsync/reconcile"
)

// Journal is the reconcile journal of one installation: the
// reconcile.Journal the launch runner persists its state through.
type Journal struct {
	db           *DB
	installation string
	profile      string
}

// Journal returns the journal of installation, recording profile with
// every entry.
func (db *DB) Journal(installation, profile string) *Journal {
	return &Journal{db: db, installation: installation, profile: profile}
}

// Load returns the installation's entry, or the zero entry when there is none.
func (j *Journal) Load(ctx context.Context) (reconcile.JournalEntry, error) {
	e, ok, err := j.db.LoadJournal(ctx, j.installation)
	if err != nil || !ok {
		return reconcile.JournalEntry{}, err
	}
	lastErr, ok := reconcile.ParseSDKError(e.LastErrorClass)
	if !ok {
		return reconcile.JournalEntry{}, &ColumnError{Table: tableJournal, Column: "last_error_class", Key: j.installation, Err: ErrCorrupt}
	}
	return reconcile.JournalEntry{
		LastObserved: e.LastObserved, Environment: e.Environment, Region: e.Region,
		AppUserID: e.AppUserID, VitalUserID: e.VitalUserID, InFlight: e.InFlight,
		Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt, LastError: lastErr,
	}, nil
}

// Save stores e and appends event to the installation's history, in one
// transaction.
func (j *Journal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	return j.db.SaveJournal(ctx, JournalEntry{
		Installation: j.installation, Profile: j.profile,
		LastObserved: e.LastObserved, Environment: e.Environment, Region: e.Region,
		AppUserID: e.AppUserID, VitalUserID: e.VitalUserID, InFlight: e.InFlight,
		Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt, LastErrorClass: string(e.LastError),
	}, event)
}
