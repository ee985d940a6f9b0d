// Package emulator emulates the Junction (Vital) team API and auth server as
// one http.Handler, for tests, simulations and local development.
//
// An [Emulator] serves, on one handler:
//
//   - the team API under /v2/user (create, get, resolve, list, patch, soft
//     delete, undo delete, sign-in token), authenticated with the team API key in the
//     X-Vital-API-Key header; GET /v2/user/{user_id} also accepts the
//     user-level "Authorization: Bearer <access token>" of the SDK;
//   - the auth server's token endpoint at /auth/v1/token (so the auth base
//     URL is "<server>/auth", the layout of the iOS SDK's local environment)
//     and, for convenience, at /v1/token: the token-exchange grant for
//     Sign-In Tokens and the refresh-token grant;
//   - the legacy Firebase / GCIP endpoints of iOS ≤1.8.1 and Android ≤4.2.0
//     (reference §10.3), addressed as Firebase emulators are, with the real
//     host as the first path segment:
//     /identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken and
//     /securetoken.googleapis.com/v1/token, both requiring ?key= the public
//     Web API key that every minted Sign-In Token carries
//     ([Emulator.PublicAPIKey]). A minted token's user_token is a custom
//     token the legacy sign-in accepts with the token's tenant_id; the ID
//     token it returns is an access token of the API; errors answer the
//     Firebase envelope {"error":{"code","message","status"}}.
//
// Its zero value is ready to use; [New] takes options. Sign-In Tokens are
// real RS256 JWTs signed with a 2048-bit RSA key generated lazily the first
// time one is needed (tests share one with [WithSigningKey]), wrapped in the
// base64 JSON envelope the SDKs decode. Every route can be made to fail with
// [Emulator.FailNext], [Emulator.DelayNext], [Emulator.DropNext] and
// [Emulator.RateLimitNext] ([Emulator.LoseResponseNext] serves a request
// and then loses its answer), and [Emulator.Requests] counts what reached
// it.
// Unknown paths answer 404 and known paths with the wrong method 405, both
// with a JSON body, so a client calling something the emulator does not
// implement fails loudly.
//
// Every other route the official Node client calls (vital_routes.txt, taken
// from @tryvital/vital-node's source: summaries, timeseries, Link, devices,
// a user's info and insurance, …) answers 501 with {"detail":"not emulated:
// METHOD PATH is METHOD PATTERN (resource.method in the official Node
// client), a Vital API route that this emulator does not serve; …"}, so a
// client never takes it for a missing user; other paths under the real
// API's prefixes (and the legacy Identity Toolkit and Secure Token
// endpoints) answer 501 "… is a Vital API path (…)" alike.
//
// # Control plane
//
// [Emulator.Handler] serves the API together with a control plane under
// [ControlPrefix] (/_emulator/), which no Vital path starts with;
// [Emulator.ControlPlane] is the control plane alone, for a caller that
// mounts it. Every answer is JSON; a refusal is {"detail": message} with
// 400 (bad argument), 404 (no such user or route) or 405:
//
//   - GET  /_emulator/health: {"status":"ok","time":…}
//   - GET  /_emulator/state: the [Overview] (users, deleted ones too; token
//     counts per user; minted Sign-In Tokens by user and expiry; queued
//     faults; request counts; the last 50 API requests, newest first)
//   - POST /_emulator/reset: [Emulator.Reset]; answers the Overview
//   - POST /_emulator/faults/{fail|delay|drop|rate-limit} with
//     {"route": name or "METHOD /pattern", "count": N (default 1),
//     "status": S (fail), "delay": "2s" (delay), "retry_after": "30s"
//     (rate-limit)}: answers the route's queue
//   - DELETE /_emulator/faults: [Emulator.ClearFaults]
//   - POST /_emulator/users/{user_id}/revoke-refresh-tokens,
//     POST /_emulator/users/{user_id}/expire-access-tokens,
//     POST /_emulator/users/{user_id}/undo-delete ([Emulator.UndoDelete]),
//     DELETE /_emulator/users/{user_id}: answer the user's overview
//   - POST /_emulator/clock/advance with {"by":"1h"}: [Emulator.Advance]
//   - GET /_emulator/ui: the web UI, a server-rendered page (html/template,
//     embedded) with the state and forms that POST to /_emulator/ui/{action}
//     and redirect back (303): add a user, delete, undo a deletion, revoke,
//     expire, fail, delay, drop or rate-limit a route, advance, reset. One
//     script, allowed by a per-response CSP nonce, fetches the page every
//     2 s and swaps in the new state (skipping while a field has the
//     focus); without JavaScript the page works the same, by reloading.
//
// Route names ([Route.Name], [ParseRoute]) are stable strings:
// create-user, list-users, get-user, resolve-user, delete-user,
// patch-user, undo-delete, sign-in-token, token.
//
// Every request is recorded as a [RequestRecord] (method, path without the
// query, route name, status, latency on the emulator's clock), kept for
// [Emulator.RecentRequests] (API requests only) and passed to the
// [WithObserver] function, which the command uses for its request log.
//
// # State
//
// [Emulator.Export] returns the whole [State] (team, signing key, clock
// offset, users, access and refresh tokens, minted Sign-In Token records)
// and [NewFromState] builds an emulator from one, so that tokens issued
// before keep working; [WriteStateFile] and [ReadStateFile] store it as
// JSON (mode 0600: it holds secrets). Export, import and export again give
// the same bytes. [LoadState] and [LoadStateFile] build the emulator while
// reading the JSON record by record, holding no copy of the file (at most
// [MaxStateBytes]); a hand-written seed file may leave out the signing key
// and the team's identity.
//
// A [Dir] keeps the state in a directory incrementally: [AttachDir] writes
// the snapshot ([SnapshotFile], a State file), each change is then one
// line of [LogFile], written and synced by [Dir.Flush], and the log is
// folded into a new snapshot once it outgrows twice the last one; so a
// change costs the same at any state size. [LoadDir] reads the snapshot
// and replays the log; a last line cut short by a crash is skipped (it was
// never acknowledged), a damaged line before it refused ([ErrInvalidLog]).
//
// Time comes from a clock: by default a manual one that starts at the
// wall-clock time the emulator was first used and only moves with
// [Emulator.Advance]; [WithClock] injects another (Advance then adds to its
// readings). [Emulator.DelayNext] waits in real time unless
// [WithAfter] gives it a virtual clock's timer. Package emulatortest holds
// the test kit built on the emulator (a fixed signing key, a virtual clock,
// an in-process transport).
//
// # Behaviour chosen where the real service is unspecified
//
//   - Error bodies are FastAPI-shaped: {"detail":"message"} in general;
//     {"detail":{"error_type":…}} from the token endpoint; a create-user
//     conflict (and an undo that would collide with a newer user) answers 400
//     {"detail":{"error_type":"INVALID_REQUEST","error_message":…,"user_id":…,"created_on":…}};
//     validation failures answer 422 {"detail":[{"loc":…,"msg":…,"type":…}]}.
//   - A missing or wrong API key answers 401; a valid Bearer token on a
//     route that needs the API key, or on another user, answers 403; an
//     unknown or expired Bearer token answers 401.
//   - Refresh tokens rotate: each refresh returns a new one and retires the
//     old. Presenting a retired (rotated-out) refresh token answers 400
//     invalid_token, as does an unknown one or any of a deleted user (even
//     one revoked before); the user's other tokens stay valid (no
//     reuse-detection revocation). Refresh tokens revoked with
//     [Emulator.RevokeRefreshTokens] answer 400 reauthentication_required; a
//     new exchange issues fresh ones.
//   - Refresh tokens do not expire; access tokens expire after the access
//     TTL and expires_in is that TTL in whole seconds.
//   - Sign-In Tokens may be exchanged any number of times until they expire.
//     Each carries a random jti claim, so two minted in the same second for
//     the same user still differ (the SDKs ignore the claim; the codec
//     accepts tokens without one).
//   - client_user_id holds 1 to [MaxClientUserIDLen] characters and
//     fallback_time_zone 1 to 64; longer values answer 422 string_too_long.
//     Request bodies are bounded (64 KiB); a larger one answers 413
//     {"detail":"request body too large"}, on the token endpoint too.
//   - DELETE /v2/user/{user_id} revokes the user's access and refresh tokens
//     at once and frees the client_user_id; an undo restores the user but
//     not the tokens. Undoing a user that is not deleted succeeds and changes
//     nothing. Undo by client_user_id restores the most recently deleted user
//     with that ID.
//   - Fault knobs act after routing and before authentication and
//     validation, and an injected failure, drop or abandoned delay (but not
//     a lost response, which is served in full) changes no state.
//     [Emulator.Requests] counts every request that reached a route,
//     faulted or not.
//   - GET /v2/user accepts 0 <= offset and 1 <= limit <= 100 (default 0 and
//     100) and lists active users in creation order. /v2/user/ with a
//     trailing slash is the same route (§10.12).
//   - The legacy sign-in answers an invalid, expired or foreign custom token
//     (or one of a deleted user) with 401 INVALID_CUSTOM_TOKEN, the only
//     status the SDKs read as invalidSignInToken; a tenantId that is not
//     the token's with 400 TENANT_ID_MISMATCH; a wrong key with 400.
//   - The legacy refresh answers a deleted user's token with 400
//     USER_NOT_FOUND (as a real GCIP deployment does), a revoked one with
//     400 TOKEN_EXPIRED, and an unknown one (or a Junction refresh token)
//     with 400 INVALID_REFRESH_TOKEN; its refresh tokens rotate like
//     /v1/token's (a rotated-out one is INVALID_REFRESH_TOKEN) and
//     expires_in is a string.
//   - Whether /v1/token honours a legacy refresh token after an upgrade
//     across the cutover (§10.4) is [WithLegacyRefreshHonoured]: by default
//     it answers invalid_token, which the SDKs read as a deleted user.
//
// # Limitations
//
// The emulator differs from the real service in these ways:
//
//   - One handler serves both the API host and the auth host; the real
//     service has api.* and auth.* hosts per environment and region.
//   - Only the user-management routes and the token endpoint exist: no data
//     endpoints (timeseries, summaries), no connections or providers
//     (connected_sources is always empty), no webhooks; of the Firebase/GCIP endpoints only the two the SDKs
//     call exist.
//   - Guesses where the real service is unpublished (§10.12): the
//     create-user conflict body's exact shape; the status of token-endpoint
//     errors (400 here; the SDKs accept any 4xx); the list bounds
//     (offset/limit above); undo-delete's answer when both or neither
//     parameter is given; PATCH /v2/user/{user_id}'s answer (204 here, the
//     clients ignore its body) and that a null clears an optional field;
//     whether /v1/token honours a legacy refresh token
//     (the knob above); whether a rotated refresh token reused later is
//     invalid_token (it is here); and on the legacy endpoints the statuses
//     and messages above other than USER_NOT_FOUND, and that Secure Token
//     refresh tokens rotate.
//   - The legacy API hosts (api[.sandbox][.eu].tryvital.io) and the
//     current ones are the same handler.
//   - State is in memory unless the caller exports it or keeps it in a
//     [Dir] (the command's --data: every change is on disk before its
//     answer). Queued faults, request counts
//     and recent requests are not part of a [State], and the default manual
//     clock restarts from the wall-clock time (only its offset is kept).
//     Deleted users are kept (as deleted) after the 7-day grace period
//     instead of being erased, but are then unreachable, as on the real
//     service. Rotated and revoked refresh tokens are kept forever.
//   - The control plane and the web UI are for their owner only, on a
//     developer's machine: they answer only the hosts the server listens
//     on ([WithControlHosts]; loopback by default), so a DNS-rebinding page
//     reads nothing; a change (any method but GET and HEAD) needs the
//     per-process [Emulator.ControlToken] (the [HeaderControlToken] header,
//     or the [FormControlToken] field the UI's forms carry) and is refused
//     from a foreign or null Origin and when the browser marks it as
//     another site's or origin's (Sec-Fetch-Site). There are no accounts.
//   - Real Vital routes that are not emulated answer 501 from the Node
//     client's list and a fixed list of prefixes; a path outside both
//     answers a plain 404.
//   - Pagination is plain offset/limit over the current user list, with no
//     cursor and no consistency across pages under concurrent changes.
//   - The sandbox limit of 50 users per team is not enforced, and the API
//     key prefix (pk_/sk_) is not checked against the environment.
//   - There is one team per emulator, with one API key; keys cannot be
//     rotated or revoked.
//   - Validation covers only what clients of this module send; the exact
//     wording of messages differs from the real service.
//   - Sign-In Tokens are signed with the emulator's own key, not a Google
//     service account, so only this emulator accepts them.
//
// The emulator never logs; tokens and the API key appear only in the
// responses that carry them and in an exported [State], never in a
// [RequestRecord], an [Overview] or the web UI.
package emulator
