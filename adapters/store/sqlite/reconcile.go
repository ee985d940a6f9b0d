package sqlite

import (
	"context"
	"errors"
	"fmt"

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

// Load returns the installation's entry, or the zero entry when there is
// none. A stored value that does not parse is a *ColumnError wrapping
// ErrCorrupt.
func (j *Journal) Load(ctx context.Context) (reconcile.JournalEntry, error) {
	row, ok, err := j.db.loadJournalRow(ctx, j.installation)
	if err != nil || !ok {
		return reconcile.JournalEntry{}, err
	}
	return row.entry(tableJournal)
}

// Save stores e and appends event to the installation's history, in one
// transaction, stamped with the DB clock. An entry or event
// reconcile.JournalEntry.Validate refuses matches both
// reconcile.ErrInvalidJournalEntry and ErrInvalid, and nothing is written.
func (j *Journal) Save(ctx context.Context, e reconcile.JournalEntry, event string) error {
	if err := e.Validate(event); err != nil {
		return fmt.Errorf("save journal: %w", errors.Join(err, ErrInvalid))
	}
	return j.db.saveJournalRow(ctx, journalRow{
		Installation: j.installation, Profile: j.profile,
		LastObserved: e.LastObserved, Environment: e.Environment, Region: e.Region,
		AppUserID: e.AppUserID, VitalUserID: e.VitalUserID, InFlight: reconcile.FormatAction(e.InFlight),
		Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt,
		LastAction: reconcile.FormatAction(e.LastAction), LastError: string(e.LastError),
		LastResolvedAt: e.LastResolvedAt,
	}, event)
}
