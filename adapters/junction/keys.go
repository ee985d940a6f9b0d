package junction

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/vitalsync/vitalsync/fsm"
)

// keyPrefixes are the team API keys' documented prefixes.
var keyPrefixes = []struct {
	prefix string
	env    fsm.Environment
	region fsm.Region
}{
	{"pk_us_", fsm.Production, fsm.US},
	{"pk_eu_", fsm.Production, fsm.EU},
	{"sk_us_", fsm.Sandbox, fsm.US},
	{"sk_eu_", fsm.Sandbox, fsm.EU},
}

// APIBaseURLForKey returns the team API base URL a key's documented prefix
// names (pk_us_, pk_eu_: production; sk_us_, sk_eu_: sandbox), and false for
// any other key.
func APIBaseURLForKey(key string) (string, bool) {
	for _, k := range keyPrefixes {
		if strings.HasPrefix(key, k.prefix) {
			return APIBaseURL(k.env, k.region), true
		}
	}
	return "", false
}

// MaskKey shows an API key the way Stripe's dashboard does, for banners
// and messages: its prefix ("sk_us_") and last four characters,
// "sk_us_…0000"; only the prefix when the rest is shorter than 12.
func MaskKey(key string) string {
	prefix := ""
	if i := strings.Index(key, "_"); i > 0 {
		if j := strings.Index(key[i+1:], "_"); j > 0 {
			prefix = key[:i+1+j+1]
		}
	}
	if len(key)-len(prefix) < 12 {
		return prefix + "…"
	}
	return prefix + "…" + key[len(key)-4:]
}

// ErrBadBaseURL is matched by ParseBaseURL's error.
var ErrBadBaseURL = errors.New("not an http(s) base URL")

// ParseBaseURL returns v normalised (scheme and host in lower case, no
// trailing slash), or an error matching ErrBadBaseURL unless it is an
// absolute http or https URL with a host and no user information, query or
// fragment: a base URL carries no credentials, and the error then does not
// repeat it.
func ParseBaseURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("%w: %q does not parse", ErrBadBaseURL, v)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("%w: %q needs the scheme http:// or https://", ErrBadBaseURL, v)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%w: %q has no host", ErrBadBaseURL, v)
	case u.User != nil:
		return "", fmt.Errorf("%w: a base URL must not hold user information", ErrBadBaseURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%w: %q has a query or fragment", ErrBadBaseURL, v)
	}
	u.Scheme, u.Host = scheme, strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}
