package conformance

import (
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// JournalEntry is the journal entry's JSON form (reconcile.JournalEntry):
// the protocol's journal.put, journal.get and journal.saved, and the
// runner vectors' journal steps.
type JournalEntry struct {
	LastObserved   string  `json:"last_observed"`
	Environment    string  `json:"environment"`
	Region         string  `json:"region"`
	AppUserID      string  `json:"app_user_id"`
	VitalUserID    string  `json:"vital_user_id"`
	InFlight       *Action `json:"in_flight"`
	LastAction     *Action `json:"last_action"`
	LastError      string  `json:"last_error"`
	Attempts       int     `json:"attempts"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	LastResolvedAt *string `json:"last_resolved_at"`
}

// EntryOf returns e's JSON form.
func EntryOf(e reconcile.JournalEntry) JournalEntry {
	return JournalEntry{LastObserved: string(e.LastObserved), Environment: string(e.Environment),
		Region: string(e.Region), AppUserID: e.AppUserID, VitalUserID: e.VitalUserID,
		InFlight: ActionOf(e.InFlight), LastAction: ActionOf(e.LastAction), LastError: string(e.LastError),
		Attempts: e.Attempts, NextAttemptAt: timeString(e.NextAttemptAt), LastResolvedAt: timeString(e.LastResolvedAt)}
}

// Reconcile returns the entry w encodes, refusing unknown names.
func (w JournalEntry) Reconcile() (reconcile.JournalEntry, error) {
	var e reconcile.JournalEntry
	if w.LastObserved != "" {
		st, ok := fsm.ParseState(w.LastObserved)
		if !ok {
			return e, fmt.Errorf("%w: journal entry: unknown state %q", ErrProtocol, w.LastObserved)
		}
		e.LastObserved = st
	}
	if w.Environment != "" {
		env, ok := fsm.ParseEnvironment(w.Environment)
		if !ok {
			return e, fmt.Errorf("%w: journal entry: unknown environment %q", ErrProtocol, w.Environment)
		}
		e.Environment = env
	}
	if w.Region != "" {
		r, ok := fsm.ParseRegion(w.Region)
		if !ok {
			return e, fmt.Errorf("%w: journal entry: unknown region %q", ErrProtocol, w.Region)
		}
		e.Region = r
	}
	e.AppUserID, e.VitalUserID, e.Attempts = w.AppUserID, w.VitalUserID, w.Attempts
	var err error
	if e.InFlight, err = w.InFlight.Reconcile(); err != nil {
		return e, fmt.Errorf("%w: journal entry: in_flight: %w", ErrProtocol, err)
	}
	if e.LastAction, err = w.LastAction.Reconcile(); err != nil {
		return e, fmt.Errorf("%w: journal entry: last_action: %w", ErrProtocol, err)
	}
	se, ok := reconcile.ParseSDKError(w.LastError)
	if !ok {
		return e, fmt.Errorf("%w: journal entry: unknown SDK error %q", ErrProtocol, w.LastError)
	}
	e.LastError = se
	if e.NextAttemptAt, err = parseTime(w.NextAttemptAt); err != nil {
		return e, fmt.Errorf("%w: journal entry: next_attempt_at: %w", ErrProtocol, err)
	}
	if e.LastResolvedAt, err = parseTime(w.LastResolvedAt); err != nil {
		return e, fmt.Errorf("%w: journal entry: last_resolved_at: %w", ErrProtocol, err)
	}
	return e, nil
}

func parseTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, *s)
}

// Summary is the part of the entry the transcripts print.
func (w JournalEntry) Summary() EntrySummary {
	return EntrySummary{LastObserved: w.LastObserved, VitalUserID: w.VitalUserID, LastAction: w.LastAction,
		LastError: w.LastError, Attempts: w.Attempts}
}
