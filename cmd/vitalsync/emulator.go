package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

func init() {
	register(command{name: "emulator", summary: "serve the Junction API emulator for local development", run: runEmulator})
}

func runEmulator(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "emulator", "[--addr HOST:PORT] [--api-key K] [--team-id T] [--token-ttl D] [--access-ttl D] [--environment E] [--region R]")
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on; port 0 picks a free port")
	apiKey := fs.String("api-key", "", "the team API key to accept (default: a random sk_/pk_ key, printed)")
	teamID := fs.String("team-id", "", "the team ID (default: a random UUID)")
	tokenTTL := fs.Duration("token-ttl", emulator.DefaultTokenTTL, "how long Sign-In Tokens stay exchangeable")
	accessTTL := fs.Duration("access-ttl", emulator.DefaultAccessTTL, "how long access tokens stay valid (at least 1s)")
	envName := fs.String("environment", string(fsm.Sandbox), "environment to emulate, for the token issuer: "+choices(fsm.Environments()))
	regionName := fs.String("region", string(fsm.US), "region to emulate, for the token issuer: "+choices(fsm.Regions()))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("emulator takes no arguments")
	}
	environment, ok := fsm.ParseEnvironment(*envName)
	if !ok {
		return usagef("--environment must be one of %s, not %q", choices(fsm.Environments()), *envName)
	}
	region, ok := fsm.ParseRegion(*regionName)
	if !ok {
		return usagef("--region must be one of %s, not %q", choices(fsm.Regions()), *regionName)
	}
	if *tokenTTL <= 0 {
		return usagef("--token-ttl must be positive, not %v", *tokenTTL)
	}
	if *accessTTL < time.Second {
		return usagef("--access-ttl must be at least 1s, not %v", *accessTTL)
	}

	em := emulator.New(
		emulator.WithClock(time.Now),
		emulator.WithAPIKey(*apiKey),
		emulator.WithTeamID(*teamID),
		emulator.WithTokenTTL(*tokenTTL),
		emulator.WithAccessTTL(*accessTTL),
		emulator.WithEnvironment(environment, region),
	)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	base := "http://" + ln.Addr().String()
	return serveUntilDone(ctx, e, "emulator", ln, em, func() error {
		// The API key is the emulator's own, made up for local use: printing
		// it is the point. It goes to stdout only, never to the log.
		_, err := fmt.Fprintf(e.stdout, "API base URL:  %s\nAuth base URL: %s/auth\nAPI key:       %s\nTeam ID:       %s\nEnvironment:   %s %s\n",
			base, base, em.APIKey(), em.TeamID(), environment, region)
		if err == nil {
			e.log.Info("emulator serving", "addr", ln.Addr().String(), "environment", environment, "region", region)
		}
		return err
	})
}

// choices lists the allowed values of a flag, e.g. "us|eu".
func choices[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}
