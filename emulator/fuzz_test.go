package emulator

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func FuzzParseCreateUser(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"client_user_id":"a"}`, `{"client_user_id":""}`,
		`{"client_user_id":1}`, `{"client_user_id":"a","fallback_birth_date":"1980-01-01"}`,
		`{"client_user_id":"a","ingestion_start":null,"fallback_time_zone":"UTC"}`, `{"client_user_id":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, errs := parseCreateUser(body)
		if len(errs) == 0 && req.clientUserID == "" {
			t.Fatalf("parseCreateUser(%q) accepted an empty client_user_id", body)
		}
		for _, e := range errs {
			if len(e.Loc) == 0 || e.Loc[0] != "body" || e.Msg == "" || e.Type == "" {
				t.Fatalf("parseCreateUser(%q): malformed validation error %+v", body, e)
			}
		}
	})
}

func FuzzMatchRoute(f *testing.F) {
	for _, p := range []string{"/v2/user", "/v2/user/x", "/v2/user/resolve/a%2Fb", "/v2/user/x/sign_in_token",
		"/v2/user/undo_delete", "/v1/token", "/auth/v1/token", "/", "//", "/v2/user/%zz"} {
		f.Add("GET", p)
		f.Add("POST", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		m := matchRoute(method, path)
		if m.route != "" && m.allow != "" {
			t.Fatalf("matchRoute(%q, %q) = %+v: both a route and a 405", method, path, m)
		}
		if m.route == "" {
			if m.param != "" {
				t.Fatalf("matchRoute(%q, %q) = %+v: a parameter without a route", method, path, m)
			}
			return
		}
		if !m.route.valid() || !strings.HasPrefix(string(m.route), method+" ") {
			t.Fatalf("matchRoute(%q, %q) = %+v: route of another method", method, path, m)
		}
		if hasParam := strings.Contains(string(m.route), "{"); hasParam != (m.param != "") {
			t.Fatalf("matchRoute(%q, %q) = %+v: parameter does not fit the route", method, path, m)
		}
		if m.param != "" && !slices.ContainsFunc(strings.Split(path, "/"), func(seg string) bool {
			p, err := url.PathUnescape(seg)
			return err == nil && p == m.param
		}) {
			t.Fatalf("matchRoute(%q, %q) = %+v: parameter is not a segment of the path", method, path, m)
		}
	})
}
