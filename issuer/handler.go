package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vitalsync/vitalsync/httpops"
	"github.com/vitalsync/vitalsync/reconcile"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// Paths served by Handler.
const (
	PathSignInToken = "/v1/sign-in-token"
	PathVitalUser   = "/v1/vital-user"
	PathHealth      = "/healthz"
	PathMetrics     = "/metrics"
)

// Paths returns every path Handler serves, for mounting it next to other
// handlers.
func Paths() []string {
	return []string{PathSignInToken, PathVitalUser, PathInstallationReport, PathHealth, PathMetrics}
}

// StoreRetryAfter is the Retry-After of a 503 store_unavailable.
const StoreRetryAfter = 5 * time.Second

// maxBody bounds the request body of POST /v1/sign-in-token.
const maxBody = 4 << 10

// Config configures New. Team, Store and Auth are required.
type Config struct {
	Team   TeamAPI          // the team API client, holding the API key
	Store  UserStore        // the app user → Vital user map
	Auth   Authenticator    // who is calling
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // clock for request durations; nil: time.Now
	// Registerer is where the handler's collectors register: the host's
	// registry, so that an issuer mounted in an existing service joins its
	// metrics. nil: a registry of the handler's own. /metrics serves it
	// when it is also a prometheus.Gatherer (a *prometheus.Registry), and
	// answers 404 otherwise, the host serving its own.
	Registerer prometheus.Registerer
	// Reports stores installation reports; nil: the report route answers 404.
	Reports ReportStore
}

// Handler is the sign-in token issuer. See the package documentation for
// its routes and duties. It is safe for concurrent use.
type Handler struct {
	team    TeamAPI
	store   UserStore
	reports ReportStore
	auth    Authenticator
	log     *slog.Logger
	now     func() time.Time
	locks   keyedLock
	metrics *metrics
}

// New returns a Handler, or an error matching ErrInvalidConfig when a
// required field is missing or the Registerer refuses its collectors.
func New(c Config) (*Handler, error) {
	switch {
	case c.Team == nil:
		return nil, fmt.Errorf("%w: Team is required", ErrInvalidConfig)
	case c.Store == nil:
		return nil, fmt.Errorf("%w: Store is required", ErrInvalidConfig)
	case c.Auth == nil:
		return nil, fmt.Errorf("%w: Auth is required", ErrInvalidConfig)
	}
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, fmt.Errorf("%w: Registerer: %w", ErrInvalidConfig, err)
	}
	h := &Handler{team: c.Team, store: c.Store, reports: c.Reports, auth: c.Auth, log: c.Logger, now: c.Now, metrics: m}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// ServeHTTP routes the request, and counts and times it by route and
// status code.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	sw := httpops.NewStatusRecorder(w)
	h.route(sw, r)
	h.metrics.observe(r.URL.Path, sw.Code(), h.now().Sub(start))
}

// route serves the request.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathSignInToken:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		h.api(w, r, h.serveSignInToken)
	case PathVitalUser:
		// Not HEAD: the call may create a user, which a HEAD must not.
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		h.api(w, r, h.serveVitalUser)
	case PathInstallationReport:
		if h.reports == nil {
			writeError(w, http.StatusNotFound, "not_found", "no such route")
			return
		}
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		h.api(w, r, h.serveInstallationReport)
	case PathHealth:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case PathMetrics:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		if h.metrics.exposition == nil {
			writeError(w, http.StatusNotFound, CodeNotFound, "metrics are served by the host")
			return
		}
		h.metrics.exposition.ServeHTTP(w, r)
	default:
		writeError(w, http.StatusNotFound, CodeNotFound, "no such route")
	}
}

// apiFunc serves one API route for the authenticated app user and returns
// the response body, or an error for fail to classify.
type apiFunc func(ctx context.Context, r *http.Request, app string) (any, error)

// api authenticates the caller, checks the app user they name, runs fn,
// writes its answer, and logs the request (at debug level: the host logs
// one line per request; this one adds the app user).
func (h *Handler) api(w http.ResponseWriter, r *http.Request, fn apiFunc) {
	start := h.now()
	ctx := r.Context()
	status, app := h.apiStatus(w, r, fn)
	d := h.now().Sub(start)
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "issuer request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("app_user", app), slog.Duration("duration", d))
}

func (h *Handler) apiStatus(w http.ResponseWriter, r *http.Request, fn apiFunc) (status int, app string) {
	ctx := r.Context()
	app, err := h.auth.Authenticate(r)
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			code, msg := unauthorizedAnswer(err)
			h.log.LogAttrs(ctx, slog.LevelInfo, "request not authenticated", slog.String("code", code))
			w.Header().Set("WWW-Authenticate", `Bearer realm="vitalsync-issuer"`)
			return writeError(w, http.StatusUnauthorized, code, msg), ""
		}
		h.log.LogAttrs(ctx, slog.LevelError, "authenticator failed", slog.String("error", err.Error()))
		return writeError(w, http.StatusInternalServerError, CodeInternal, "authentication failed"), ""
	}
	if err := ValidateAppUserID(app); err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "authenticator returned an unusable app user ID", slog.String("error", err.Error()))
		return writeError(w, http.StatusInternalServerError, CodeInternal, "authentication failed"), ""
	}
	named, err := namedAppUser(r)
	if err != nil {
		return writeError(w, http.StatusBadRequest, CodeBadRequest, "malformed request body"), app
	}
	if named != "" && named != app {
		return writeError(w, http.StatusForbidden, CodeAnotherUser,
			"the session authenticates another app user than the one the request names"), app
	}
	body, err := fn(ctx, r, app)
	if err != nil {
		return h.fail(w, r, app, err), app
	}
	return writeJSON(w, http.StatusOK, body), app
}

// unauthorizedAnswer is the one table from an Authenticator's error to the
// code and message of the 401 answer. An error that matches none of the
// precise sentinels (a custom Authenticator's plain ErrUnauthorized) is
// CodeUnauthorized. Messages name the problem, never the credentials.
func unauthorizedAnswer(err error) (code, msg string) {
	switch {
	case errors.Is(err, ErrNoCredentials):
		return CodeMissingCreds, "no credentials: send Authorization: Bearer <session>"
	case errors.Is(err, ErrMultipleAuthorization):
		return CodeMultipleAuth, "more than one Authorization header: send exactly one"
	case errors.Is(err, ErrSessionExpired):
		return CodeSessionExpired, "the session has expired: mint a new one"
	case errors.Is(err, ErrBadSignature):
		return CodeBadSignature, "the session's signature does not verify: it was altered or signed with another secret"
	case errors.Is(err, ErrMalformedSession), errors.Is(err, ErrInvalidSession):
		return CodeMalformedSession, "the credentials are not a well-formed bearer session"
	}
	return CodeUnauthorized, "missing, invalid or expired credentials"
}

// namedAppUser returns the app user the caller says it acts for: the query
// parameter app_user_id, or on POST the body's "app_user_id". "" means the
// caller named none.
func namedAppUser(r *http.Request) (string, error) {
	named := r.URL.Query().Get("app_user_id")
	if r.Method != http.MethodPost {
		return named, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxBody {
		return "", errors.New("body too large")
	}
	r.Body = io.NopCloser(bytes.NewReader(data)) // for the route's own decoding
	if len(data) == 0 {
		return named, nil
	}
	var req struct {
		AppUserID string `json:"app_user_id"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return "", err
	}
	if req.AppUserID != "" && named != "" && req.AppUserID != named {
		return "", errors.New("app_user_id in query and body differ")
	}
	if req.AppUserID != "" {
		named = req.AppUserID
	}
	return named, nil
}

func (h *Handler) serveSignInToken(ctx context.Context, _ *http.Request, app string) (any, error) {
	tok, err := h.signInToken(ctx, app)
	if err != nil {
		return nil, err
	}
	return signInTokenBody{UserID: tok.UserID, SignInToken: tok.SignInToken}, nil
}

func (h *Handler) serveVitalUser(ctx context.Context, _ *http.Request, app string) (any, error) {
	id, err := h.vitalUser(ctx, app)
	if err != nil {
		return nil, err
	}
	return vitalUserBody{UserID: id}, nil
}

// signInTokenBody is the answer of POST /v1/sign-in-token.
type signInTokenBody struct {
	UserID      string `json:"user_id"`
	SignInToken string `json:"sign_in_token"`
}

// vitalUserBody is the answer of GET /v1/vital-user.
type vitalUserBody struct {
	UserID string `json:"user_id"`
}

// errorBody is every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// fail classifies err, counts and logs it without secrets or upstream
// bodies, and writes the matching status. It returns the status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, app string, err error) int {
	ctx := r.Context()
	attrs := []slog.Attr{slog.String("app_user", app)}
	var ae *junction.APIError
	var ue *upstreamError
	var se *storeError
	switch {
	case errors.As(err, &ae) || reconcile.IsTransient(err):
		// Log the classification, not the error text: upstream messages
		// stay out of the logs as they stay out of responses.
		if ae != nil {
			attrs = append(attrs, slog.String("op", ae.Op), slog.Int("upstream_status", ae.Status))
			if ae.Kind != nil {
				attrs = append(attrs, slog.String("kind", ae.Kind.Error()))
			}
		}
		if reconcile.IsTransient(err) {
			h.metrics.upstreamTransient.Add(1)
			retry := time.Duration(0)
			if ae != nil {
				retry = ae.RetryAfter
			}
			attrs = append(attrs, slog.String("class", "transient"), slog.Duration("retry_after", retry))
			h.log.LogAttrs(ctx, slog.LevelWarn, "team API unavailable", attrs...)
			if retry > 0 {
				w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retry.Seconds())), 10))
			}
			return writeError(w, http.StatusServiceUnavailable, CodeUpstreamDown, "the team API is unavailable; retry later")
		}
		h.metrics.upstreamTerminal.Add(1)
		attrs = append(attrs, slog.String("class", "terminal"))
		h.log.LogAttrs(ctx, slog.LevelError, "team API refused", attrs...)
		return writeError(w, http.StatusBadGateway, CodeUpstreamError, "the team API refused the request")
	case errors.As(err, &ue):
		h.metrics.upstreamTerminal.Add(1)
		attrs = append(attrs, slog.String("class", "terminal"), slog.String("error", ue.msg))
		h.log.LogAttrs(ctx, slog.LevelError, "team API answered inconsistently", attrs...)
		return writeError(w, http.StatusBadGateway, CodeUpstreamError, "the team API answered inconsistently")
	case errors.Is(err, ErrInstallationBound):
		h.log.LogAttrs(ctx, slog.LevelWarn, "report refused: installation bound to another app user", attrs...)
		return writeError(w, http.StatusForbidden, CodeInstallationBound,
			"the installation is bound to another app user; report under a new installation ID")
	case errors.Is(err, ErrStaleSequence):
		h.log.LogAttrs(ctx, slog.LevelWarn, "report refused: stale sequence", attrs...)
		return writeError(w, http.StatusConflict, CodeStaleSequence,
			"another copy of the installation reported a later sequence; report under a new installation ID")
	case errors.Is(err, ErrFutureReport):
		return writeError(w, http.StatusBadRequest, CodeFutureReport, err.Error())
	case errors.Is(err, ErrTimeOutOfRange):
		return writeError(w, http.StatusBadRequest, CodeTimeOutOfRange, err.Error())
	case errors.Is(err, ErrBadReport):
		return writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, ErrStoreUnavailable):
		attrs = append(attrs, slog.String("error", err.Error()))
		h.log.LogAttrs(ctx, slog.LevelWarn, "store unavailable", attrs...)
		w.Header().Set("Retry-After", strconv.Itoa(int(StoreRetryAfter/time.Second)))
		return writeError(w, http.StatusServiceUnavailable, CodeStoreUnavailable, "the database is unavailable; retry later")
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		h.log.LogAttrs(ctx, slog.LevelInfo, "request ended while waiting", attrs...)
		return writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "the request ended before it could be served")
	case errors.As(err, &se):
		attrs = append(attrs, slog.String("error", se.Error()))
		h.log.LogAttrs(ctx, slog.LevelError, "user map failed", attrs...)
		return writeError(w, http.StatusInternalServerError, CodeInternal, "internal error")
	default:
		attrs = append(attrs, slog.String("error", err.Error()))
		h.log.LogAttrs(ctx, slog.LevelError, "request failed", attrs...)
		return writeError(w, http.StatusInternalServerError, CodeInternal, "internal error")
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed")
}

func writeError(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, errorBody{Error: code, Message: msg})
}

// writeJSON writes v with status; answers are never cached since they may
// hold tokens. It returns status.
func writeJSON(w http.ResponseWriter, status int, v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":"internal","message":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
	return status
}
