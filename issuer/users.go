package issuer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// TeamAPI is what the handler needs of the Junction team API;
// *junction.Client implements it.
type TeamAPI interface {
	CreateUser(ctx context.Context, clientUserID string) (junction.UserKey, error)
	GetUser(ctx context.Context, userID string) (junction.User, error)
	ResolveUser(ctx context.Context, clientUserID string) (junction.User, error)
	CreateSignInToken(ctx context.Context, userID string) (junction.SignInTokenResponse, error)
}

// storeError marks a failure of the user map (500).
type storeError struct {
	op  string
	err error
}

// Error names the store operation and its failure.
func (e *storeError) Error() string { return "issuer: user map: " + e.op + ": " + e.err.Error() }

// Unwrap returns the store's error.
func (e *storeError) Unwrap() error { return e.err }

// mapped is the outcome of finding an app user's Vital user.
type mapped struct {
	vitalUserID string
	fresh       bool // created or adopted by this request: known to exist
}

// ensureUser returns app's active Vital user, creating (or adopting) one and
// recording the mapping when there is none.
func (h *Handler) ensureUser(ctx context.Context, app string) (mapped, error) {
	m, ok, err := h.store.LookupUser(ctx, app)
	if err != nil {
		return mapped{}, &storeError{"lookup", err}
	}
	if ok {
		return mapped{vitalUserID: m.VitalUserID}, nil
	}
	unlock, err := h.locks.lock(ctx, app)
	if err != nil {
		return mapped{}, err
	}
	defer unlock()
	// Whoever held the lock before us may have created it.
	m, ok, err = h.store.LookupUser(ctx, app)
	if err != nil {
		return mapped{}, &storeError{"lookup", err}
	}
	if ok {
		return mapped{vitalUserID: m.VitalUserID}, nil
	}
	id, err := h.record(ctx, app)
	if err != nil {
		return mapped{}, err
	}
	return mapped{vitalUserID: id, fresh: true}, nil
}

// replaceDeleted is called when the API says stale, app's mapped Vital user,
// no longer exists. Under app's lock it marks the mapping deleted (kept as
// history) and maps app to a new Vital user, unless someone already did.
func (h *Handler) replaceDeleted(ctx context.Context, app, stale string) (string, error) {
	unlock, err := h.locks.lock(ctx, app)
	if err != nil {
		return "", err
	}
	defer unlock()
	m, ok, err := h.store.LookupUser(ctx, app)
	if err != nil {
		return "", &storeError{"lookup", err}
	}
	if ok && m.VitalUserID != stale {
		return m.VitalUserID, nil // replaced while we waited
	}
	if ok {
		switch merr := h.store.MarkUserDeleted(ctx, app, stale); {
		case errors.Is(merr, ErrMappingInactive):
			// Another process retired it between our lookup and now, and
			// may have mapped the replacement already. If not, record
			// below adopts the user it creates through the API's conflict.
			m, ok, err = h.store.LookupUser(ctx, app)
			if err != nil {
				return "", &storeError{"lookup", err}
			}
			if ok {
				return m.VitalUserID, nil
			}
		case merr != nil:
			return "", &storeError{"mark deleted", merr}
		default:
			h.log.LogAttrs(ctx, slog.LevelInfo, "vital user gone; mapping kept as history",
				slog.String("app_user", app), slog.String("vital_user", stale))
		}
	}
	id, err := h.record(ctx, app)
	if err != nil {
		return "", err
	}
	h.metrics.usersReplaced.Add(1)
	return id, nil
}

// record creates or adopts app's Vital user and stores the mapping. The
// caller holds app's lock and has seen no active mapping. The team call and
// the write run to completion even if the request goes away, so a created
// user is recorded whenever the store allows.
func (h *Handler) record(ctx context.Context, app string) (string, error) {
	ctx = context.WithoutCancel(ctx)
	id, err := h.createOrAdopt(ctx, app)
	if err != nil {
		return "", err
	}
	m, err := h.store.PutUser(ctx, app, id)
	switch {
	case errors.Is(err, ErrMappingExists) && m.VitalUserID != "":
		// Another process recorded first: its mapping wins.
		h.log.LogAttrs(ctx, slog.LevelInfo, "mapping recorded elsewhere first; using it",
			slog.String("app_user", app), slog.String("vital_user", m.VitalUserID))
		return m.VitalUserID, nil
	case err != nil:
		return "", &storeError{"put", err}
	}
	return id, nil
}

// createOrAdopt creates app's Vital user (client_user_id = app), or returns
// the existing one when the API says it already exists.
func (h *Handler) createOrAdopt(ctx context.Context, app string) (string, error) {
	key, err := h.team.CreateUser(ctx, app)
	if err == nil {
		if key.UserID == "" {
			return "", &upstreamError{"create user answered without a user ID"}
		}
		h.metrics.usersCreated.Add(1)
		h.log.LogAttrs(ctx, slog.LevelInfo, "vital user created",
			slog.String("app_user", app), slog.String("vital_user", key.UserID))
		return key.UserID, nil
	}
	if !errors.Is(err, junction.ErrConflict) {
		return "", fmt.Errorf("create user: %w", err)
	}
	var ae *junction.APIError
	id := ""
	if errors.As(err, &ae) {
		id = ae.ConflictUserID
	}
	if id == "" {
		// The conflict did not name the user: ask for it by client_user_id.
		u, err := h.team.ResolveUser(ctx, app)
		if err != nil {
			return "", fmt.Errorf("resolve user: %w", err)
		}
		if u.UserID == "" || u.ClientUserID != app {
			return "", &upstreamError{"resolve user answered for another user"}
		}
		id = u.UserID
	}
	h.metrics.usersAdopted.Add(1)
	h.log.LogAttrs(ctx, slog.LevelInfo, "existing vital user adopted",
		slog.String("app_user", app), slog.String("vital_user", id))
	return id, nil
}

// signInToken maps app to a Vital user and mints a token for it.
func (h *Handler) signInToken(ctx context.Context, app string) (junction.SignInTokenResponse, error) {
	m, err := h.ensureUser(ctx, app)
	if err != nil {
		return junction.SignInTokenResponse{}, err
	}
	tok, err := h.mint(ctx, m.vitalUserID)
	if errors.Is(err, junction.ErrNotFound) && !m.fresh {
		id, rerr := h.replaceDeleted(ctx, app, m.vitalUserID)
		if rerr != nil {
			return junction.SignInTokenResponse{}, rerr
		}
		tok, err = h.mint(ctx, id)
	}
	if err != nil {
		return junction.SignInTokenResponse{}, err
	}
	h.metrics.tokensIssued.Add(1)
	return tok, nil
}

// mint creates a Sign-In Token for id and checks the answer is about id.
func (h *Handler) mint(ctx context.Context, id string) (junction.SignInTokenResponse, error) {
	tok, err := h.team.CreateSignInToken(ctx, id)
	if err != nil {
		return junction.SignInTokenResponse{}, fmt.Errorf("create sign-in token: %w", err)
	}
	if tok.SignInToken == "" {
		return junction.SignInTokenResponse{}, &upstreamError{"sign-in token answer without a token"}
	}
	if tok.UserID == "" {
		tok.UserID = id
	}
	if tok.UserID != id {
		return junction.SignInTokenResponse{}, &upstreamError{"sign-in token answer for another user"}
	}
	return tok, nil
}

// vitalUser maps app to a Vital user that the API confirms exists, without
// minting a token.
func (h *Handler) vitalUser(ctx context.Context, app string) (string, error) {
	m, err := h.ensureUser(ctx, app)
	if err != nil {
		return "", err
	}
	if m.fresh {
		return m.vitalUserID, nil
	}
	_, err = h.team.GetUser(ctx, m.vitalUserID)
	switch {
	case err == nil:
		return m.vitalUserID, nil
	case errors.Is(err, junction.ErrNotFound):
		return h.replaceDeleted(ctx, app, m.vitalUserID)
	default:
		return "", fmt.Errorf("get user: %w", err)
	}
}
