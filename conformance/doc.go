// Package conformance checks that an engine (a port of the reconcile
// planner, runner and journal to another language) behaves as vitalsync's
// own: it exports the behaviour as vectors, and drives an engine process
// through a world it owns, over the line-delimited JSON protocol of
// docs/conformance/protocol.md.
//
// # Vectors
//
// Export reads reconcile's datadriven files (testdata/plan and
// testdata/runner) and returns their cases as data: each planner case's
// observation and expected classification and plan, each runner
// transcript's script and expected calls, journal writes and outcome, and
// the profile table. The expected outputs are the files' own, parsed, and
// each parsed transcript is rendered back and compared with its file, so a
// vector never says something its file does not. Write stores them as
// plan.json, runner.json and profiles.json, which vectors.schema.json
// describes (ValidateJSON checks a document against it); the committed copy
// is testdata/vectors, and a test fails, naming the case, when it differs
// from a fresh export.
package conformance

import "errors"

// ErrProtocol is matched (errors.Is) by every message of an engine that
// breaks the protocol.
var ErrProtocol = errors.New("conformance: protocol error")
