package reconcile

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vitalsync/vitalsync/fsm"
)

// Answer is the token source's last word in a launch: the Vital user it
// named for an app user and when, and whether a Sign-In Token it minted
// with that answer is still unused (its action named another user). The
// token itself stays with the runner; the answer says only that it exists.
type Answer struct {
	AppUser, VitalUser string
	At                 time.Time
	Unused             bool
}

// resolved is the answer after the token source named vital for app
// without minting: an unused token stays unused while it is for the same
// users.
func (a Answer) resolved(app, vital string, at time.Time) Answer {
	unused := a.Unused && a.AppUser == app && a.VitalUser == vital
	return Answer{AppUser: app, VitalUser: vital, At: at, Unused: unused}
}

// minted is the answer after the token source minted a token of vital for
// app to apply action a: unused (the action is not applied; the pass ends
// stale) when the token does not fit a (see SignIn).
func minted(a Action, app, vital string, at time.Time) Answer {
	return Answer{AppUser: app, VitalUser: vital, At: at, Unused: !fits(a, vital)}
}

// Reading is what one pass reads besides the journal: the installation's
// settings, the app's session, what the SDK reports, the action this
// launch applied last (nil on its first pass), the token source's last
// answer in this launch (zero if none), and the time.
type Reading struct {
	Profile         fsm.Profile
	AllowAPIKey     bool
	ResolveInterval time.Duration
	App             AppSession
	// SDK is what the SDK reports, as read: CurrentUserID, Environment
	// and Region only while its status has signedIn.
	SDK                      SDKObservation
	ProtectedDataUnavailable bool
	LastAction               Action
	Answer                   Answer
	Now                      time.Time
}

// Observe builds the observation the planner decides from out of the
// journal entry and a pass's reading (by pointer only to spare the copies:
// it changes neither). It is pure, and the only place a
// fact the planner reads is worked out: the Runner calls it in every pass,
// the audit for every report. Its rules (Plan's doc lists the planner's):
//
//   - the app's session is taken as read, without user IDs while the app
//     is signed out; when the app does not know its Vital user, it is the
//     one the journal keeps for the same app user;
//   - IssuedVitalUserID is the answer's Vital user when the answer is for
//     the app's user; else the journal's Vital user for the same app user
//     when it differs from the app's (the token source named another one
//     in an earlier launch, and the app kept the user it was told at
//     sign-in);
//   - LastResolvedAt is the later of the journal's and the answer's time;
//     UnusedToken is the answer's Vital user while its token is unused;
//   - SessionAppUserID (the user-switch rule's fact): while the SDK holds
//     a session, the journal's app user when the journal's Vital user is
//     the SDK's current user, or when the journal has not learned that
//     user's Vital user yet (the session started while it served them;
//     JournalEntry's attribution rule says when it does); while protected
//     data is unavailable on a profile whose status then reads signed out
//     (iOS ≤1.3), the journal's app user when it last observed a session;
//   - the journal's last observed state, last error, attempts and next
//     attempt time are the observation's; the last action is the
//     reading's (this launch's), never the journal's.
func Observe(e *JournalEntry, r *Reading) (o Observation) {
	// Field by field into the result: the audit calls this for every row.
	o.Profile, o.SDK = r.Profile, r.SDK
	o.App = r.App
	if !o.App.SignedIn {
		o.App.AppUserID, o.App.VitalUserID = "", ""
	}
	mine := o.App.SignedIn && e.AppUserID == o.App.AppUserID
	if mine && o.App.VitalUserID == "" {
		o.App.VitalUserID = e.VitalUserID
	}
	o.LastObserved, o.LastAction, o.LastError, o.Attempts = e.LastObserved, r.LastAction, e.LastError, e.Attempts
	o.NextAttemptAt, o.LastResolvedAt, o.ResolveInterval = e.NextAttemptAt, e.LastResolvedAt, r.ResolveInterval
	o.ProtectedDataUnavailable, o.Now, o.AllowAPIKey = r.ProtectedDataUnavailable, r.Now, r.AllowAPIKey
	if mine && e.VitalUserID != "" && o.App.VitalUserID != "" && !SameUser(o.App.VitalUserID, e.VitalUserID) {
		o.IssuedVitalUserID = e.VitalUserID
	}
	if ans := &r.Answer; o.App.SignedIn && ans.AppUser == o.App.AppUserID {
		if ans.VitalUser != "" {
			o.IssuedVitalUserID = ans.VitalUser
			if ans.Unused {
				o.UnusedToken = ans.VitalUser
			}
		}
		if ans.At.After(o.LastResolvedAt) {
			o.LastResolvedAt = ans.At
		}
	}
	if r.SDK.Status.Has(fsm.FlagSignedIn) && e.AppUserID != "" &&
		(e.VitalUserID == "" || SameUser(e.VitalUserID, r.SDK.CurrentUserID)) {
		o.SessionAppUserID = e.AppUserID
	}
	if r.ProtectedDataUnavailable && r.Profile.LockedKeychain == fsm.KeychainReadsSignedOut &&
		!r.SDK.Status.Has(fsm.FlagSignedIn) && e.LastObserved.SignedIn() && e.AppUserID != "" {
		// The status reads signed out while locked: the session is the
		// one the journal last observed, and its app user's.
		o.SessionAppUserID = e.AppUserID
	}
	return o
}

// SameUser compares user IDs case-insensitively (iOS 1.4+ reports upper
// case), as strings.EqualFold does: equal strings at once, then ASCII byte
// by byte (Vital user IDs are UUIDs), the rest of the string by EqualFold
// from the first non-ASCII byte on.
func SameUser(a, b string) bool {
	if a == b {
		return true // the common case, one vectorised compare
	}
	if len(a) != len(b) {
		return strings.EqualFold(a, b) // folding may change a length outside ASCII
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|y >= utf8.RuneSelf {
			return strings.EqualFold(a[i:], b[i:])
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// read takes a pass's reading from the SDK, the app and the clock (the
// SDK's Status, CurrentUserID and Environment do no IO).
func (r *Runner) read(l *launch) Reading {
	rd := Reading{
		Profile:         r.cfg.Profile,
		AllowAPIKey:     r.cfg.AllowAPIKey,
		ResolveInterval: r.cfg.ResolveInterval,
		App:             r.cfg.App(),
		LastAction:      l.last,
		Answer:          l.answer,
		Now:             r.cfg.Now(),
	}
	if pd, ok := r.cfg.SDK.(ProtectedData); ok && !pd.ProtectedDataAvailable() {
		rd.ProtectedDataUnavailable = true
	}
	rd.SDK.Status = r.cfg.SDK.Status()
	if rd.SDK.Status.Has(fsm.FlagSignedIn) {
		rd.SDK.CurrentUserID = r.cfg.SDK.CurrentUserID()
		if env, region, ok := r.cfg.SDK.Environment(); ok {
			rd.SDK.Environment, rd.SDK.Region = env, region
		}
	}
	return rd
}
