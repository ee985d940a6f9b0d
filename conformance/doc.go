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
//
// # The harness
//
// Run starts the engine's command as a child process and plays the
// selected suites against it, reporting one CaseResult per case:
//
//  1. plan: each planner vector is one plan command; the reply must equal
//     the vector's classification and plan.
//  2. runner: each transcript is played on the scripted world (world.go, a
//     port of reconcile's test SDK and token source); every SDK and token
//     call the engine makes is answered by it, and the calls, journal
//     events, passes and outcome of each launch must equal the transcript's.
//  3. crash: the engine is killed (SIGKILL) at each call that changes the
//     world, before and after the world applies it, and at each journal
//     write, then started again on the same journal: the journal it reads
//     must be the last it reported, and its relaunches must reach agreement
//     without leaving another user's session.
//  4. fleet: a seeded fleet of the simulations' world runs with the engine
//     as every installation's launch task (remoteStrategy), under the
//     simulations' invariants.
//
// The Go engine (ServeEngine; the conformance-engine command and
// ./goengine) is reconcile behind the protocol: it passes every suite, and
// its test-only mutations (EngineOptions.Mutation) show that each suite
// fails an engine that breaks what it checks. docs/conformance/protocol.md
// is the protocol and the guide to writing an engine.
package conformance

import "errors"

// ErrProtocol is matched (errors.Is) by every message of an engine that
// breaks the protocol.
var ErrProtocol = errors.New("conformance: protocol error")
