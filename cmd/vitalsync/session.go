package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vitalsync/vitalsync/adapters/issuer"
)

func init() {
	register(command{name: "session", summary: "print a bearer session token for an app user, for 'serve'", run: runSession})
}

func runSession(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "session", "--secret S --user U [--ttl D]")
	secret := fs.String("secret", "", fmt.Sprintf("the HMAC secret 'serve' was given, at least %d bytes (default $%s)", issuer.MinSecretLen, envSessionSecret))
	user := fs.String("user", "", "the app user ID the session authenticates")
	ttl := fs.Duration("ttl", time.Hour, "how long the session stays valid")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("session takes no arguments")
	}
	if *secret == "" {
		*secret = os.Getenv(envSessionSecret)
	}
	switch {
	case *secret == "":
		return usagef("session needs --secret (or $%s)", envSessionSecret)
	case *user == "":
		return usagef("session needs --user")
	case *ttl <= 0:
		return usagef("--ttl must be positive, not %v", *ttl)
	}
	s, err := issuer.NewSession([]byte(*secret), *user, *ttl, time.Now())
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
