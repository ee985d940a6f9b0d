package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

// errBadURL is matched by the errors of URL flags that are not an http or
// https base URL with a host.
var errBadURL = errors.New("not an http(s) base URL")

// errNoEndpoints means a device command was given no --api-url/--auth-url
// and its database remembers none: it refuses rather than call the real
// Junction hosts by default.
var errNoEndpoints = errors.New("no Junction base URLs")

// urlFlag is a flag.Value holding an http or https base URL, validated when
// the flags are parsed (a bad one is a usage error, exit 2). The value is
// normalised: scheme and host in lower case, no trailing slash.
type urlFlag struct{ url string }

// String returns the URL.
func (f *urlFlag) String() string {
	if f == nil {
		return ""
	}
	return f.url
}

// Set validates and stores a URL.
func (f *urlFlag) Set(v string) error {
	u, err := parseBaseURL(v)
	if err != nil {
		return err
	}
	f.url = u
	return nil
}

// parseBaseURL returns v normalised, or an error matching errBadURL unless
// it is an absolute http or https URL with a host and no user information,
// query or fragment (a base URL carries no credentials).
func parseBaseURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("%w: %q does not parse", errBadURL, v)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("%w: %q needs the scheme http:// or https://", errBadURL, v)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%w: %q has no host", errBadURL, v)
	case u.User != nil:
		return "", fmt.Errorf("%w: a base URL must not hold user information", errBadURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%w: %q has a query or fragment", errBadURL, v)
	}
	u.Scheme, u.Host = scheme, strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// resolveEndpoints decides which Junction base URLs a device command uses:
// the ones given (a missing one is taken from the database), or else the
// ones the database remembers. The first URLs used are remembered; other
// ones later are refused (a usage error matching sqlite.ErrEndpointsChanged)
// unless allowChange, which replaces them. With nothing given and nothing
// remembered it refuses with a usage error matching errNoEndpoints that
// names the flags. A command whose URLs match the remembered ones writes
// nothing.
func resolveEndpoints(ctx context.Context, db *sqlite.DB, apiURL, authURL string, allowChange bool) (sqlite.Endpoints, error) {
	stored, found, err := db.LoadEndpoints(ctx)
	if err != nil {
		return sqlite.Endpoints{}, err
	}
	want := sqlite.Endpoints{APIBaseURL: apiURL, AuthBaseURL: authURL}
	if found {
		if want.APIBaseURL == "" {
			want.APIBaseURL = stored.APIBaseURL
		}
		if want.AuthBaseURL == "" {
			want.AuthBaseURL = stored.AuthBaseURL
		}
		if want.APIBaseURL == stored.APIBaseURL && want.AuthBaseURL == stored.AuthBaseURL {
			return stored, nil
		}
	}
	switch {
	case want.APIBaseURL == "" && want.AuthBaseURL == "":
		return sqlite.Endpoints{}, usageErr(fmt.Errorf("%w: this database remembers none, so give --api-url and --auth-url "+
			"(e.g. the emulator's http://127.0.0.1:8080 and http://127.0.0.1:8080/auth); "+
			"they are remembered for the next commands", errNoEndpoints))
	case want.APIBaseURL == "":
		return sqlite.Endpoints{}, usageErr(fmt.Errorf("%w: give --api-url too: this database remembers none", errNoEndpoints))
	case want.AuthBaseURL == "":
		return sqlite.Endpoints{}, usageErr(fmt.Errorf("%w: give --auth-url too: this database remembers none", errNoEndpoints))
	}
	got, err := db.RememberEndpoints(ctx, want, allowChange)
	if errors.Is(err, sqlite.ErrEndpointsChanged) {
		return sqlite.Endpoints{}, usageErr(fmt.Errorf("%w: it was first used with API %s and auth %s, not API %s and auth %s; "+
			"pass --allow-url-change to switch", err, got.APIBaseURL, got.AuthBaseURL, want.APIBaseURL, want.AuthBaseURL))
	}
	return got, err
}
