package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// journalRow is a row of the journal (and of its history): the
// reconcile.JournalEntry of one installation in its stored form, with the
// installation, the profile and the time of the save.
type journalRow struct {
	Installation string
	LastObserved fsm.State // "" unknown
	Profile      string    // an fsm profile name, or ""
	Environment  fsm.Environment
	Region       fsm.Region // last observed SDK configuration
	AppUserID    string     // the app user, as last known
	VitalUserID  string     // and their Vital user
	InFlight     string     // reconcile.FormatAction of the action in flight, "" none
	Attempts     int
	// NextAttemptAt is when to retry; the zero time means no retry is due.
	NextAttemptAt  time.Time
	LastResolvedAt time.Time // zero: never
	LastAction     string    // reconcile.FormatAction of the action applied last
	LastError      string    // a reconcile.SDKError name
	// UpdatedAt is when the entry was saved. saveJournalRow sets it from the
	// DB clock when it is zero.
	UpdatedAt time.Time
}

// JournalEvent is one row of an installation's journal history: the entry as
// a save stored it, and the event it named.
type JournalEvent struct {
	Seq     int64 // increases with every saved event in the file
	Event   string
	Profile string    // the profile the journal recorded with the entry
	At      time.Time // when the entry was saved
	Entry   reconcile.JournalEntry
}

const (
	tableJournal = "journal"
	tableEvents  = "journal_events"
)

// journalColumns are the entry's columns, shared by journal and
// journal_events, after installation.
const journalColumns = `last_observed, profile, environment, region, app_user_id,
	vital_user_id, in_flight, attempts, next_attempt_at, last_action, last_error, last_resolved_at`

// loadJournalSQL reads one installation's journal entry; prepared once at
// Open, as it runs at every launch.
const loadJournalSQL = `SELECT installation, ` + journalColumns + `, updated_at FROM journal WHERE installation = ?`

// loadJournalRow returns the journal row of installation, and false if none
// is stored. A stored value that does not parse is a *ColumnError wrapping
// ErrCorrupt.
func (db *DB) loadJournalRow(ctx context.Context, installation string) (journalRow, bool, error) {
	if err := db.check(ctx); err != nil {
		return journalRow{}, false, err
	}
	if db.kind != KindDevice {
		return journalRow{}, false, &KindError{Want: KindDevice, Got: db.kind}
	}
	row := db.loadJournal.QueryRowContext(ctx, installation)
	e, err := scanEntry(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return journalRow{}, false, nil
	}
	if err != nil {
		return journalRow{}, false, fmt.Errorf("load journal: %w", db.wrap(ctx, err))
	}
	if err := checkEntry(tableJournal, e, ErrCorrupt); err != nil {
		return journalRow{}, false, fmt.Errorf("load journal: %w", err)
	}
	return e, true, nil
}

// saveJournalRow stores e as the journal row of e.Installation and appends
// it, with event, to the installation's history, in one transaction. A zero
// UpdatedAt is set from the DB clock. A value that cannot be stored, or an
// empty event, is a *ColumnError wrapping ErrInvalid.
func (db *DB) saveJournalRow(ctx context.Context, e journalRow, event string) error {
	if err := checkEntry(tableJournal, e, ErrInvalid); err != nil {
		return fmt.Errorf("save journal: %w", err)
	}
	if event == "" {
		return fmt.Errorf("save journal: %w",
			&ColumnError{Table: tableEvents, Column: "event", Key: e.Installation, Err: ErrInvalid})
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("save journal: %w", err)
	}
	defer tx.Rollback()
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = tx.now
	}
	if err := tx.saveJournalBounded(ctx, e, event); err != nil {
		return fmt.Errorf("save journal: %w", db.wrap(ctx, err))
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("save journal: %w", err)
	}
	return nil
}

func (tx *tx) saveJournal(ctx context.Context, e journalRow, event string) error {
	args := []any{
		e.Installation, string(e.LastObserved), e.Profile, string(e.Environment), string(e.Region),
		e.AppUserID, e.VitalUserID, e.InFlight, e.Attempts, nanos(e.NextAttemptAt),
		e.LastAction, e.LastError, nanos(e.LastResolvedAt), e.UpdatedAt.UnixNano(),
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO journal (installation, `+journalColumns+`, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation) DO UPDATE SET
			last_observed = excluded.last_observed, profile = excluded.profile,
			environment = excluded.environment, region = excluded.region,
			app_user_id = excluded.app_user_id, vital_user_id = excluded.vital_user_id,
			in_flight = excluded.in_flight, attempts = excluded.attempts,
			next_attempt_at = excluded.next_attempt_at,
			last_action = excluded.last_action, last_error = excluded.last_error,
			last_resolved_at = excluded.last_resolved_at,
			updated_at = excluded.updated_at`,
		args...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO journal_events (installation, `+journalColumns+`, at, event)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append(args, event)...)
	return err
}

// JournalEvents returns the latest limit events of installation, oldest
// first; limit <= 0 returns them all. No events is an empty slice.
func (db *DB) JournalEvents(ctx context.Context, installation string, limit int) ([]JournalEvent, error) {
	if err := db.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := db.rdb.QueryContext(ctx, `
		SELECT * FROM (
			SELECT id, event, installation, `+journalColumns+`, at
			FROM journal_events WHERE installation = ?
			ORDER BY id DESC LIMIT ?
		) ORDER BY id`, installation, limit)
	if err != nil {
		return nil, fmt.Errorf("journal events: %w", db.wrap(ctx, err))
	}
	defer rows.Close()
	events := []JournalEvent{}
	for rows.Next() {
		var ev JournalEvent
		row, err := scanEntry(func(dest ...any) error {
			return rows.Scan(append([]any{&ev.Seq, &ev.Event}, dest...)...)
		})
		if err != nil {
			return nil, fmt.Errorf("journal events: %w", db.wrap(ctx, err))
		}
		if err := checkEntry(tableEvents, row, ErrCorrupt); err != nil {
			return nil, fmt.Errorf("journal events: %w", err)
		}
		if ev.Entry, err = row.entry(tableEvents); err != nil {
			return nil, fmt.Errorf("journal events: %w", err)
		}
		ev.Profile, ev.At = row.Profile, row.UpdatedAt
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal events: %w", db.wrap(ctx, err))
	}
	return events, nil
}

// scanEntry scans installation, the journal columns and the time.
func scanEntry(scan func(dest ...any) error) (journalRow, error) {
	var (
		e         journalRow
		next      sql.NullInt64
		resolved  sql.NullInt64
		updatedAt int64
	)
	err := scan(&e.Installation, &e.LastObserved, &e.Profile, &e.Environment, &e.Region,
		&e.AppUserID, &e.VitalUserID, &e.InFlight, &e.Attempts, &next,
		&e.LastAction, &e.LastError, &resolved, &updatedAt)
	if err != nil {
		return journalRow{}, err
	}
	e.NextAttemptAt = fromNanos(next)
	e.LastResolvedAt = fromNanos(resolved)
	e.UpdatedAt = time.Unix(0, updatedAt).UTC()
	return e, nil
}

// checkEntry validates the enumerated fields of e; a bad one is a
// *ColumnError wrapping kind (ErrInvalid on save, ErrCorrupt on load).
func checkEntry(table string, e journalRow, kind error) error {
	bad := func(column string) error {
		return &ColumnError{Table: table, Column: column, Key: e.Installation, Err: kind}
	}
	if e.Installation == "" {
		return bad("installation")
	}
	if e.LastObserved != "" && !validState(e.LastObserved) {
		return bad("last_observed")
	}
	if e.Profile != "" && !validProfile(e.Profile) {
		return bad("profile")
	}
	if !validEnvironment(e.Environment) {
		return bad("environment")
	}
	if !validRegion(e.Region) {
		return bad("region")
	}
	if e.Attempts < 0 {
		return bad("attempts")
	}
	if _, ok := reconcile.ParseAction(e.InFlight); !ok {
		return bad("in_flight")
	}
	if _, ok := reconcile.ParseAction(e.LastAction); !ok {
		return bad("last_action")
	}
	if _, ok := reconcile.ParseSDKError(e.LastError); !ok {
		return bad("last_error")
	}
	return nil
}

// entry converts a checked row to the reconciler's entry.
func (e journalRow) entry(table string) (reconcile.JournalEntry, error) {
	inFlight, ok1 := reconcile.ParseAction(e.InFlight)
	last, ok2 := reconcile.ParseAction(e.LastAction)
	lastErr, ok3 := reconcile.ParseSDKError(e.LastError)
	if !ok1 || !ok2 || !ok3 {
		return reconcile.JournalEntry{}, &ColumnError{Table: table, Column: "in_flight", Key: e.Installation, Err: ErrCorrupt}
	}
	return reconcile.JournalEntry{
		LastObserved: e.LastObserved, Environment: e.Environment, Region: e.Region,
		AppUserID: e.AppUserID, VitalUserID: e.VitalUserID, InFlight: inFlight,
		Attempts: e.Attempts, NextAttemptAt: e.NextAttemptAt, LastAction: last, LastError: lastErr,
		LastResolvedAt: e.LastResolvedAt,
	}, nil
}
