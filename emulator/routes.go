package emulator

import (
	"net/url"
	"strings"
)

// Route names one emulated endpoint as "METHOD pattern". Fault knobs and
// request counters are per route.
type Route string

// The emulated routes.
const (
	RouteCreateUser  Route = "POST /v2/user"
	RouteListUsers   Route = "GET /v2/user"
	RouteGetUser     Route = "GET /v2/user/{user_id}"
	RouteResolveUser Route = "GET /v2/user/resolve/{client_user_id}"
	RouteDeleteUser  Route = "DELETE /v2/user/{user_id}"
	RoutePatchUser   Route = "PATCH /v2/user/{user_id}"
	RouteUndoDelete  Route = "POST /v2/user/undo_delete"
	RouteSignInToken Route = "POST /v2/user/{user_id}/sign_in_token"
	// RouteToken is the auth server's token endpoint, served at both
	// /auth/v1/token and /v1/token.
	RouteToken Route = "POST /v1/token"
)

// Routes returns every emulated route.
func Routes() []Route {
	return []Route{RouteCreateUser, RouteListUsers, RouteGetUser, RouteResolveUser,
		RouteDeleteUser, RoutePatchUser, RouteUndoDelete, RouteSignInToken, RouteToken,
		RouteLegacySignIn, RouteLegacyRefresh}
}

// valid reports whether r is one of the emulated routes.
func (r Route) valid() bool {
	for _, k := range Routes() {
		if r == k {
			return true
		}
	}
	return false
}

// String returns the route as "METHOD pattern".
func (r Route) String() string { return string(r) }

// routeNames are the routes' short names, stable strings the request log,
// the control plane and the command accept and print.
var routeNames = map[Route]string{
	RouteCreateUser:  "create-user",
	RouteListUsers:   "list-users",
	RouteGetUser:     "get-user",
	RouteResolveUser: "resolve-user",
	RouteDeleteUser:  "delete-user",
	RoutePatchUser:   "patch-user",
	RouteUndoDelete:  "undo-delete",
	RouteSignInToken: "sign-in-token",
	RouteToken:       "token",
	// The legacy Firebase/GCIP exchange the legacy profiles call.
	RouteLegacySignIn:  "legacy-sign-in",
	RouteLegacyRefresh: "legacy-refresh",
}

// Name returns the route's short name ("create-user", "token", …), or
// [RouteNameUnknown] for a value that is not an emulated route.
func (r Route) Name() string {
	if n, ok := routeNames[r]; ok {
		return n
	}
	return RouteNameUnknown
}

// ParseRoute returns the route named s: a short name ("sign-in-token") or
// the route itself ("POST /v2/user/{user_id}/sign_in_token").
func ParseRoute(s string) (Route, bool) {
	for r, n := range routeNames {
		if s == n || s == string(r) {
			return r, true
		}
	}
	return "", false
}

// notEmulatedPrefixes are path prefixes of the real Vital API (and of the
// legacy Firebase endpoints an SDK may call through an emulator host) that
// the emulator does not serve, with what lives there.
var notEmulatedPrefixes = []struct{ prefix, what string }{
	{"/v2/summary/", "summary data"},
	{"/v2/timeseries/", "timeseries data"},
	{"/v2/link/", "Link (provider connections)"},
	{"/v2/providers", "providers"},
	{"/v2/team", "team settings"},
	{"/v2/user/providers/", "a user's connected providers"},
	{"/v2/user/refresh/", "a user's data refresh"},
	{"/v2/introspect/", "introspection"},
	{"/v2/lab_tests", "lab tests"},
	{"/v3/lab_tests", "lab tests"},
	{"/v2/order", "lab orders"},
	{"/v3/order", "lab orders"},
	{"/v2/insurance", "insurance"},
	{"/v1/accounts:", "the Identity Toolkit's own host layout (the legacy exchange is served under /identitytoolkit.googleapis.com/)"},
	{"/identitytoolkit.googleapis.com/", "the Identity Toolkit's other endpoints"},
	{"/securetoken.googleapis.com/", "the Secure Token's other endpoints"},
}

// notEmulated reports whether escapedPath is a real Vital API path the
// emulator does not serve, and what lives there.
func notEmulated(escapedPath string) (string, bool) {
	for _, p := range notEmulatedPrefixes {
		if strings.HasPrefix(escapedPath, p.prefix) || escapedPath == strings.TrimSuffix(p.prefix, "/") {
			return p.what, true
		}
	}
	return "", false
}

// match is the outcome of routing a request.
type match struct {
	route Route  // "" when no route matched
	allow string // the allowed methods when the path matched but the method did not
	param string // the unescaped {user_id} or {client_user_id}
}

// methods maps the methods allowed on one path to their routes.
type methods struct {
	routes map[string]Route
	allow  string // the Allow header of a 405
}

var (
	tokenMethods       = methods{map[string]Route{"POST": RouteToken}, "POST"}
	usersMethods       = methods{map[string]Route{"GET": RouteListUsers, "POST": RouteCreateUser}, "GET, POST"}
	undoMethods        = methods{map[string]Route{"POST": RouteUndoDelete}, "POST"}
	resolveMethods     = methods{map[string]Route{"GET": RouteResolveUser}, "GET"}
	userMethods        = methods{map[string]Route{"GET": RouteGetUser, "DELETE": RouteDeleteUser, "PATCH": RoutePatchUser}, "DELETE, GET, PATCH"}
	signInTokenMethods = methods{map[string]Route{"POST": RouteSignInToken}, "POST"}
)

// matchRoute maps a method and escaped path to a route.
func matchRoute(method, escapedPath string) match {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if m, ok := matchLegacy(method, segs); ok {
		return m
	}
	if len(segs) == 3 && segs[0] == "v2" && segs[1] == "user" && segs[2] == "" {
		// /v2/user/ with a trailing slash, as the docs' create-user example
		// and Android's getAll send it (reference §10.12).
		segs = segs[:2]
	}
	for _, s := range segs {
		if s == "" {
			return match{}
		}
	}
	byMethod := func(param string, m methods) match {
		if r, ok := m.routes[method]; ok {
			return match{route: r, param: param}
		}
		return match{allow: m.allow}
	}
	switch {
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "token",
		len(segs) == 3 && segs[0] == "auth" && segs[1] == "v1" && segs[2] == "token":
		return byMethod("", tokenMethods)
	case len(segs) < 2 || segs[0] != "v2" || segs[1] != "user":
		return match{}
	}
	switch segs = segs[2:]; {
	case len(segs) == 0:
		return byMethod("", usersMethods)
	case len(segs) == 1 && segs[0] == "undo_delete":
		return byMethod("", undoMethods)
	case len(segs) == 2 && segs[0] == "resolve":
		p, err := url.PathUnescape(segs[1])
		if err != nil {
			return match{}
		}
		return byMethod(p, resolveMethods)
	case len(segs) == 1:
		p, err := url.PathUnescape(segs[0])
		if err != nil {
			return match{}
		}
		return byMethod(p, userMethods)
	case len(segs) == 2 && segs[1] == "sign_in_token":
		p, err := url.PathUnescape(segs[0])
		if err != nil {
			return match{}
		}
		return byMethod(p, signInTokenMethods)
	}
	return match{}
}
