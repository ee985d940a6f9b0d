package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/issuer"
)

func runSession(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "session", "(--secret-file F | $"+envSessionSecret+") --user U [--ttl D]")
	secretFlag := newSecretFlag(fs, "secret", envSessionSecret,
		fmt.Sprintf("the HMAC secret 'serve' was given, at least %d bytes", issuer.MinSecretLen))
	user := fs.String("user", "", "the app user ID the session authenticates")
	ttl := durationFlag(fs, "ttl", time.Hour, fmt.Sprintf("how long the session stays valid, from 1s to %v", issuer.MaxSessionTTL))
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	if err := checkSessionTTL(*ttl); err != nil {
		return err
	}
	secret, ok, err := secretFlag.load()
	switch {
	case err != nil:
		return err
	case !ok:
		return usagef("session needs --secret-file (or $%s)", envSessionSecret)
	case *user == "":
		return usagef("session needs --user")
	}
	s, err := issuer.NewSession([]byte(secret), *user, *ttl, time.Now())
	switch {
	case errors.Is(err, issuer.ErrInvalidAppUser):
		return usagef("--user: %v", err)
	case errors.Is(err, issuer.ErrInvalidConfig):
		return usagef("--secret: %v", err)
	case err != nil:
		return err
	}
	_, err = fmt.Fprintln(e.stdout, s)
	return err
}

// checkSessionTTL accepts session lifetimes from a second to
// issuer.MaxSessionTTL: a zero, negative or absurd --ttl is a usage error.
func checkSessionTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > issuer.MaxSessionTTL {
		return usagef("--ttl must be between 1s and %v (30 days), not %v", issuer.MaxSessionTTL, ttl)
	}
	return nil
}
