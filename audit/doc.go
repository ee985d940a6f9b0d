// Package audit audits a fleet's installation reports with the planner the
// devices run.
//
// A backend that keeps its installations' reports (issuer's POST
// /v1/installation-report, or its own warehouse) asks: which installations
// are out of step with their app user, why, on which platform and SDK
// version, and what each needs. Run answers from a Source of rows, the
// public report schema joined with the backend's current mapping of each
// app user (docs/reference/report-schema.md): a CSV or JSON Lines file, or the issuer's
// SQLite or PostgreSQL database (adapters/store/sqlite's and adapters/store/postgres's
// EachReportRecord, through RecordSource).
//
// A caller's duties, in order:
//
//  1. Pick the Source. Its schema is checked before the first row: a
//     missing required column (ErrMissingColumn) or a database of a newer
//     schema is an error, and nothing is counted.
//  2. Fill Options: the audit's time and the stale bound, the shard (one
//     hash partition of the installations per process, merged afterwards
//     with Summary.Merge), and optionally a UserChecker that verifies the
//     mapped Vital users with the team API, a bounded number at a time,
//     honouring 429 and Retry-After, each user asked once.
//  3. Call Run with a Sink for the findings. Each row becomes a
//     reconcile.Observation as of its reported_at (the backend's mapping
//     stands for the token source's word), is planned, and is counted by
//     class × profile × action; a row whose class is not consistent goes to
//     the Sink at once, with its actions and a reason. Nothing is dropped:
//     a malformed row is counted as invalid and named by its line and
//     installation; the audit goes on.
//  4. Read the Summary; a class of your choosing present in it is the
//     signal for cron and CI (the CLI's --fail-on).
//
// Classes are the planner's discrepancy names (reconcile.Discrepancies)
// plus those only the backend can see: mapping-mismatch (the SDK's Vital
// user is not the app user's current mapping: Android 4.2.1–4.2.2 never
// detects a deleted user), mapped-user-missing (the team API no longer
// knows the mapped user), stale (an old report), unknown-profile (no
// profile models the platform and version) and invalid.
//
// Rows are read without per-row JSON decoding into maps: the file sources
// split lines in place and parse each field by hand, so that reading costs
// about as much as planning. Memory is constant in the number of rows (a
// test holds the heap flat from 10^5 to 10^6 rows); only --check-api holds
// the set of distinct mapped users.
package audit
