// Package issuer is the backend half of signing app users in to the Vital
// (Junction) Mobile SDK: an http.Handler that authenticates the app user,
// maps them to a Vital user (creating one on first use) and mints a
// short-lived Sign-In Token with the team API key, which never leaves it.
// It also ships Client, the app side's way to call it.
//
// # Routes
//
//	POST /v1/sign-in-token  → 200 {"user_id": "<vital user>", "sign_in_token": "<token>"}
//	GET  /v1/vital-user     → 200 {"user_id": "<vital user>"}
//	POST /v1/installation-report → 200 {"stored": true|false}
//	GET  /healthz           → 200 {"status": "ok"}
//	GET  /metrics           → Prometheus text format
//
// The API routes act on the authenticated caller's own app user only. A
// caller may name the app user it expects (the JSON body field
// "app_user_id" on POST, the query parameter app_user_id on GET); when that
// differs from the authenticated one the answer is 403 and nothing else.
// Errors are JSON objects {"error": "<code>", "message": "<text>"}:
//
//	400 bad_request           malformed body
//	401 unauthorized          missing, malformed, forged or expired credentials
//	403 forbidden             the named app user is not the caller
//	404 not_found             unknown route
//	405 method_not_allowed    known route, wrong method (with Allow)
//	500 internal              the user map failed
//	502 upstream_error        the team API refused (terminal); its body is never relayed
//	503 upstream_unavailable  the team API is unreachable, failing or rate limiting
//	                          (transient); Retry-After when the API gave one
//	503 unavailable           the request ended (caller gone, deadline) before it
//	                          was served
//
// # The user map
//
// The app user → Vital user map lives in a UserStore, one active mapping
// per app user, replaced mappings kept as history. This package owns the
// port: UserStore is its interface, Mapping its type, and ErrMappingExists,
// ErrMappingInactive and ErrInvalidMapping the errors a store answers with
// (matched with errors.Is). adapters/sqlite implements it (the embedded
// default; its BEGIN IMMEDIATE transactions keep one active mapping across
// processes) and adapters/memory does in memory, for simulations and unit
// tests; adapters/storetest holds the contract both pass. The handler's
// duties, in order, for a request from app user U:
//
//  1. Look up U's active mapping. If there is none, take U's in-process lock,
//     look again, and if still none create the Vital user with
//     client_user_id = U. On the API's 400 conflict (another process or an
//     earlier, interrupted request created it) adopt the conflicting user.
//     Record the mapping; if the store already holds an active one (another
//     replica won the race) use the winner's. Together the per-user lock and
//     the store's unique active mapping make concurrent first requests
//     settle on exactly one Vital user.
//  2. POST /v1/sign-in-token: mint a token for the mapped Vital user.
//     GET /v1/vital-user: fetch the mapped user to check it still exists (a
//     mapping created by this very request is not fetched again). GET also
//     creates the mapping when missing, because an app asking for its Vital
//     user is about to need one, and answering "none" would only make it
//     ask for a token next.
//  3. If the API answers 404 for the mapped user, it was deleted: under U's
//     lock, mark that mapping deleted (it stays as history), create a new
//     Vital user (deletion frees the client_user_id) and mint for it. If
//     another replica retired the mapping first, use the replacement it
//     mapped, or create-or-adopt as in step 1 when it has not mapped one
//     yet. This happens at most once per request.
//
// Transient upstream failures change nothing in the store, so the next
// request resumes where this one stopped; a user created upstream whose
// mapping was never recorded is adopted through the conflict next time.
//
// # Installation reports
//
// POST /v1/installation-report takes one Report (its JSON form is the
// README's public report schema) when Config.Reports is set; without it
// the route answers 404. The body is bounded like the token route's and
// decoded strictly (DecodeReport): an unknown, missing or unparsable field
// is a 400 whose message names it, never quoting a value. A report whose
// app_user_id is not the caller's is a 403. The profile is derived from
// platform and sdk_version (fsm.ProfileFor); an unmapped version is stored
// with no profile. The store keeps the latest reported_at per installation
// (ReportStore's contract; adapters/storetest checks it); the answer says
// whether this report was stored. Client.SendReport is the device's call.
//
// # Secrets
//
// The API key stays inside the team client: it is never written to a
// response, a log line or an error. Sign-In Tokens and session tokens are
// never logged. Upstream error bodies are never relayed to callers.
package issuer
