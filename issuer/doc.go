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
//	GET  /metrics           → Prometheus text format (see Metrics below)
//
// The API routes act on the authenticated caller's own app user only. A
// caller may name the app user it expects (the JSON body field
// "app_user_id" on POST, the query parameter app_user_id on GET); when that
// differs from the authenticated one the answer is 403 and nothing else.
// Errors are JSON objects {"error": "<code>", "message": "<text>"}: the code
// is stable and meant for programs (the Code constants; Client puts it in
// Error.Code), the message is for people and may change. Neither ever holds
// a credential.
//
//	400 bad_request                     malformed body
//	401 missing_credentials             no Authorization header
//	401 multiple_authorization_headers  more than one Authorization header: none is trusted
//	401 malformed_session               not a bearer session of the expected form (another
//	                                    scheme or version, non-canonical base64url, bad JSON,
//	                                    an expiry further away than MaxSessionTTL)
//	401 bad_signature                   the session's MAC does not verify (forged, altered,
//	                                    or signed with another secret)
//	401 session_expired                 the session's expiry has passed
//	401 unauthorized                    a custom Authenticator refused without a reason
//	403 another_user                    the named app user is not the caller
//	404 not_found                       unknown route
//	405 method_not_allowed              known route, wrong method (with Allow)
//	500 internal                        the user map failed
//	502 upstream_error                  the team API refused (terminal); its body is never relayed
//	503 upstream_unavailable            the team API is unreachable, failing or rate limiting
//	                                    (transient); Retry-After when the API gave one
//	503 unavailable                     the request ended (caller gone, deadline) before it
//	                                    was served
//
// An Authenticator reports why it refused with the sentinels
// ErrNoCredentials, ErrMultipleAuthorization, ErrMalformedSession,
// ErrBadSignature and ErrSessionExpired (all matching ErrUnauthorized);
// the handler turns them into the codes above, and Client turns the codes
// back into the same sentinels, so errors.Is(err, ErrSessionExpired) holds
// on both sides of the wire.
//
// # The user map
//
// The app user → Vital user map lives in a UserStore, one active mapping
// per app user, replaced mappings kept as history. This package owns the
// port: UserStore is its interface, Mapping its type, and ErrMappingExists,
// ErrMappingInactive and ErrInvalidMapping the errors a store answers with
// (matched with errors.Is). adapters/store/sqlite implements it (the embedded
// default; its BEGIN IMMEDIATE transactions keep one active mapping across
// processes), adapters/store/postgres for replicas on one PostgreSQL database (a
// partial unique index keeps one active mapping), and adapters/store/memory in
// memory, for simulations and unit tests; adapters/store/storetest holds the
// contract all three pass. The handler's
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
// # Metrics
//
// The handler's collectors (client_golang) register on Config.Registerer,
// the host's registry, so an issuer mounted inside an existing service joins
// its metrics; without one the handler keeps a registry of its own. Every
// request is counted and timed by route (the served paths, "other" for the
// rest) and status code (vitalsync_issuer_requests_total,
// vitalsync_issuer_request_duration_seconds), beside the tokens issued, the
// Vital users created, adopted and replaced, and the team API's failures by
// class. Two handlers on one registry share the collectors.
// # Installation reports
//
// POST /v1/installation-report takes one Report (its JSON form is the
// public report schema, docs/reference/report-schema.md) when Config.Reports is set; without it
// the route answers 404. The body is bounded like the token route's and
// decoded strictly (DecodeReport): an unknown, missing or unparsable field
// is a 400 whose message names it, never quoting a value. A report whose
// app_user_id is not the caller's is a 403. The profile is derived from
// platform and sdk_version (fsm.ProfileFor); an unmapped version is stored
// with no profile. A reported_at more than MaxReportSkew ahead of the
// issuer's clock is a 400 future_report, a time outside MinTime to MaxTime
// a 400 time_out_of_range. The issuer stamps received_at and the store
// keeps the latest received per installation (ReportStore's contract;
// adapters/store/storetest checks it); the answer says whether this report was
// stored.
//
// Installations are bound to app users (Bind): the first report of an
// installation binds it to the caller; another app user's report for it is
// a 403 installation_bound unless it carries the installation's key
// (HeaderInstallationKey) and names the caller as the user signed in, which
// rebinds it and keeps the old binding in the history; a report sequence
// (HeaderReportSequence) not above the installation's last is a 409
// stale_sequence (a restored copy of the device database). A device that
// meets either takes a new installation ID (installation).
// Client.SendReportFrom is the device's call; docs/reference/report-schema.md
// says it all for integrators.
//
// # Secrets
//
// The API key stays inside the team client: it is never written to a
// response, a log line or an error. Sign-In Tokens and session tokens are
// never logged. Upstream error bodies are never relayed to callers.
package issuer
