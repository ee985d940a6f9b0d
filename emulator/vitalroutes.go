package emulator

import (
	_ "embed"
	"strings"
)

// vitalRoutesText lists every Vital API route the official Node client
// calls (its version and commit are in the file's header), one
// "METHOD pattern client-method" a line.
//
//go:embed vital_routes.txt
var vitalRoutesText string

// vitalRoute is one route of the official Node client.
type vitalRoute struct {
	method  string
	pattern string   // "/v2/user/{user_id}/device"
	segs    []string // the pattern's segments; "{…}" matches any one
	client  string   // the client's method, "user.getDevices"
}

// vitalRoutes are the parsed lines of vitalRoutesText but the emulated
// routes: the routes that answer 501.
var vitalRoutes = parseVitalRoutes(vitalRoutesText)

func parseVitalRoutes(text string) []vitalRoute {
	emulated := map[string]bool{}
	for _, r := range Routes() {
		emulated[string(r)] = true
	}
	var rs []vitalRoute
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 || !strings.HasPrefix(f[1], "/") {
			panic("emulator: vital_routes.txt: bad line " + line)
		}
		if emulated[f[0]+" "+f[1]] {
			continue
		}
		rs = append(rs, vitalRoute{method: f[0], pattern: f[1], segs: strings.Split(f[1][1:], "/"), client: f[2]})
	}
	return rs
}

// isParam reports whether a pattern segment is a parameter ("{user_id}").
func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// matchSegs reports whether the path's segments fit the pattern's.
func matchSegs(pattern, path []string) bool {
	if len(pattern) != len(path) {
		return false
	}
	for i, p := range pattern {
		if path[i] == "" || !isParam(p) && p != path[i] {
			return false
		}
	}
	return true
}

// moreSpecific reports whether pattern a wins over pattern b for a path both
// match: at the first segment where one has a literal and the other a
// parameter, the literal wins ("/v2/user/metrics" over "/v2/user/{user_id}").
func moreSpecific(a, b []string) bool {
	for i := range min(len(a), len(b)) {
		if pa, pb := isParam(a[i]), isParam(b[i]); pa != pb {
			return pb
		}
	}
	return false
}

// matchVitalRoute returns the most specific route of the Node client that
// method and escapedPath call.
func matchVitalRoute(method, escapedPath string) (vitalRoute, bool) {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if n := len(segs); n > 1 && segs[n-1] == "" {
		segs = segs[:n-1] // a trailing slash
	}
	var best vitalRoute
	found := false
	for _, r := range vitalRoutes {
		if r.method == method && matchSegs(r.segs, segs) && (!found || moreSpecific(r.segs, best.segs)) {
			best, found = r, true
		}
	}
	return best, found
}

// routeSegs returns the segments of an emulated route's pattern.
func routeSegs(r Route) []string {
	_, pattern, _ := strings.Cut(string(r), " ")
	return strings.Split(strings.TrimPrefix(pattern, "/"), "/")
}
