package emulatortest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Secrets collects the secrets a test hands out (API keys, Sign-In Tokens,
// access and refresh tokens, sessions) and fails the test when one shows up
// where it must not: in logs, output or error messages.
//
// Failure messages name the place and the secret's position in the list,
// never the secret itself. The zero value is ready to use; a Secrets is safe
// for concurrent use.
type Secrets struct {
	// Fragment, when positive, also catches a truncated or partial echo:
	// every Fragment-long piece of a secret (at steps of half that) counts
	// as the secret. Zero checks whole secrets only.
	Fragment int

	mu   sync.Mutex
	list []string
	seen map[string]bool
}

// Add remembers secrets; empty strings and repeats are ignored.
func (s *Secrets) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if v == "" || s.seen[v] {
			continue
		}
		if s.seen == nil {
			s.seen = make(map[string]bool)
		}
		s.seen[v] = true
		s.list = append(s.list, v)
	}
}

// List returns the secrets added so far, in the order they were added.
func (s *Secrets) List() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}

// Find reports the position (in [Secrets.List]) of the first secret found in
// text, or -1.
func (s *Secrets) Find(text string) int {
	for i, v := range s.List() {
		if strings.Contains(text, v) {
			return i
		}
		if n := s.Fragment; n > 0 {
			step := max(n/2, 1)
			for j := 0; j+n <= len(v); j += step {
				if strings.Contains(text, v[j:j+n]) {
					return i
				}
			}
		}
	}
	return -1
}

// Check fails tb (without stopping it) if text holds a secret; where names
// the text in the failure ("logs", "stdout", "error"). It reports whether
// text was clean.
func (s *Secrets) Check(tb testing.TB, where, text string) bool {
	tb.Helper()
	if i := s.Find(text); i >= 0 {
		tb.Errorf("secret #%d (of %d) leaked into %s", i, len(s.List()), where)
		return false
	}
	return true
}

// CheckErr fails tb if err's message holds a secret. A nil err is clean.
func (s *Secrets) CheckErr(tb testing.TB, err error) bool {
	tb.Helper()
	if err == nil {
		return true
	}
	return s.Check(tb, "error", err.Error())
}

// CheckAtEnd checks text() for secrets when tb ends (after the test body,
// so every secret the test added counts), for logs that grow during the
// test.
func (s *Secrets) CheckAtEnd(tb testing.TB, where string, text func() string) {
	tb.Helper()
	tb.Cleanup(func() {
		tb.Helper()
		s.Check(tb, where, text())
	})
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers: the sink of a
// test's slog output, or of a command's stdout while goroutines write to it.
// The zero value is ready to use.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len returns how many bytes have been written and not reset.
func (b *LockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Reset discards everything written so far.
func (b *LockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// Logger returns a text logger that writes records at level and above to b.
func (b *LockedBuffer) Logger(level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}
