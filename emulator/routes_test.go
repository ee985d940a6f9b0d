package emulator

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The routing table's tests read unexported parts; the rest of the
// package's tests are in package emulator_test, on the test kit.

func TestRouteStrings(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Routes() {
		method, pattern, ok := strings.Cut(r.String(), " ")
		require.True(t, ok, "%q", r)
		require.Contains(t, []string{"GET", "POST", "PATCH", "DELETE"}, method)
		legacy := strings.HasPrefix(pattern, "/identitytoolkit.googleapis.com/v1/") ||
			strings.HasPrefix(pattern, "/securetoken.googleapis.com/v1/")
		require.True(t, strings.HasPrefix(pattern, "/v") || legacy, "%q", r)
		require.False(t, seen[r.String()])
		seen[r.String()] = true
	}
	require.False(t, Route("GET /v2/nope").valid())
}

func TestMatchRoute(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         match
	}{
		{"POST", "/v2/user", match{route: RouteCreateUser}},
		{"GET", "/v2/user", match{route: RouteListUsers}},
		{"GET", "/v2/user/abc", match{route: RouteGetUser, param: "abc"}},
		{"DELETE", "/v2/user/abc", match{route: RouteDeleteUser, param: "abc"}},
		{"GET", "/v2/user/resolve/a%2Fb%20c", match{route: RouteResolveUser, param: "a/b c"}},
		{"GET", "/v2/user/resolve/%zz", match{}},
		{"GET", "/v2/user/%zz", match{}},
		{"POST", "/v2/user/%zz/sign_in_token", match{}},
		{"POST", "/v2/user/undo_delete", match{route: RouteUndoDelete}},
		{"POST", "/v2/user/abc/sign_in_token", match{route: RouteSignInToken, param: "abc"}},
		{"POST", "/v1/token", match{route: RouteToken}},
		{"POST", "/auth/v1/token", match{route: RouteToken}},
		{"PUT", "/auth/v1/token", match{allow: "POST"}},
		{"POST", "//v1/token", match{}},
		{"POST", "/v1/token/", match{}},
		{"GET", "/v2/user/", match{route: RouteListUsers}},
		{"POST", "/v2/user/", match{route: RouteCreateUser}},
		{"GET", "/v2/user//", match{}},
		{"GET", "/v2/user/abc/", match{}},
		{"POST", "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken", match{route: RouteLegacySignIn}},
		{"GET", "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken", match{allow: "POST"}},
		{"POST", "/identitytoolkit.googleapis.com/v1/accounts:signUp", match{}},
		{"POST", "/securetoken.googleapis.com/v1/token", match{route: RouteLegacyRefresh}},
		{"POST", "/securetoken.googleapis.com/v1/token/", match{}},
	} {
		if got := matchRoute(tc.method, tc.path); got != tc.want {
			t.Errorf("matchRoute(%s, %s) = %+v, want %+v", tc.method, tc.path, got, tc.want)
		}
	}
}
