package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The control plane's token: every request that changes state (any method
// but GET and HEAD) must carry it, in the HeaderControlToken header (the
// JSON API) or the FormControlToken field (the web UI's forms, which carry
// it themselves).
const (
	HeaderControlToken = "X-Emulator-Token"
	FormControlToken   = "control_token"
)

// WithControlToken sets the control plane's token. The default is 32
// random bytes in hex, drawn from crypto/rand at first use: per process.
func WithControlToken(token string) Option { return func(c *config) { c.controlToken = token } }

// WithControlHosts sets the Host header values the control plane answers:
// "host:port" matches exactly, "host" matches on any port. The default
// answers loopback only (localhost, 127.0.0.0/8, ::1, on any port), which
// refuses a DNS-rebinding page (Host: evil.example:PORT). Servers that
// listen elsewhere pass the addresses they listen on.
func WithControlHosts(hosts ...string) Option {
	return func(c *config) { c.controlHosts = append([]string(nil), hosts...) }
}

// ControlToken returns the control plane's token, to print at start (as
// Jupyter prints its URL's token) and to hand to clients.
func (e *Emulator) ControlToken() string {
	e.init()
	return e.controlToken
}

// newControlToken is a fresh per-process token.
func newControlToken() string {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("emulator: no randomness for the control token: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// controlRefusal returns why the control plane refuses r ("" when it does
// not): a Host it does not serve (every method), and for a change a
// foreign or null Origin, a browser's mark of another site or origin, or a
// missing or wrong token. For the web UI's forms, the form is parsed here
// (bounded).
func (e *Emulator) controlRefusal(w http.ResponseWriter, r *http.Request) string {
	if !e.hostAllowed(r.Host) {
		return "the control plane does not answer for host " + strconvQuote(r.Host)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if len(origins) > 1 || !sameOrigin(origins[0], r.Host) {
			return "the control plane refuses changes from another origin"
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return "the control plane refuses changes from another site or origin"
	}
	token := r.Header.Get(HeaderControlToken)
	if token == "" && strings.HasPrefix(r.URL.EscapedPath(), ControlPrefix+"ui/") {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if r.ParseForm() == nil {
			token = r.PostForm.Get(FormControlToken)
		}
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(e.controlToken)) != 1 {
		return "the control plane needs its token for changes: the " + HeaderControlToken +
			" header (printed when the emulator started)"
	}
	return ""
}

// sameOrigin reports whether origin is http(s)://host, host being the
// request's (already allowed) Host.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// hostAllowed checks a request's Host against the configured hosts, or
// loopback by default.
func (e *Emulator) hostAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	host = strings.ToLower(host)
	if e.cfg.controlHosts == nil {
		if host == "localhost" {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	for _, allowed := range e.cfg.controlHosts {
		allowed = strings.ToLower(allowed)
		if ah, ap, err := net.SplitHostPort(allowed); err == nil {
			if ah == host && ap == port {
				return true
			}
		} else if strings.Trim(allowed, "[]") == host {
			return true
		}
	}
	return false
}
