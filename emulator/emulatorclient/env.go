package emulatorclient

import (
	"os"
	"strings"
)

// The environment variables FromEnv reads, as vitalsync emulator's
// subcommands do when --url and --control-token-file are not given.
const (
	EnvURL   = "VITALSYNC_EMULATOR_URL"   // the running emulator's base URL
	EnvToken = "VITALSYNC_EMULATOR_TOKEN" // its control token
)

// FromEnv returns a client of the emulator $VITALSYNC_EMULATOR_URL names
// (DefaultURL when unset), with the control token $VITALSYNC_EMULATOR_TOKEN
// holds or, when unset, the one that emulator left for its user
// (DiscoverToken): how a test reaches the emulator a developer started with
// vitalsync emulator. Without a token it can only read.
func FromEnv(opts ...Option) *Client {
	base := strings.TrimSpace(os.Getenv(EnvURL))
	if base == "" {
		base = DefaultURL
	}
	token := strings.TrimSpace(os.Getenv(EnvToken))
	if token == "" {
		token, _ = DiscoverToken(base)
	}
	return New(base, append([]Option{WithToken(token)}, opts...)...)
}
