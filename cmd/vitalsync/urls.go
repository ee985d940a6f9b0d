package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

// urlFlag is a flag.Value holding an http or https base URL, validated and
// normalised when the flags are parsed (junction.ParseBaseURL; a bad one is
// a usage error, exit 2).
type urlFlag struct{ url string }

func (f *urlFlag) String() string {
	if f == nil {
		return ""
	}
	return f.url
}

func (f *urlFlag) Set(v string) error {
	u, err := junction.ParseBaseURL(v)
	if err != nil {
		return err
	}
	f.url = u
	return nil
}

// resolveEndpoints decides which Junction base URLs a device command uses
// (sqlite's ResolveEndpoints, allowChange replacing the remembered ones); it
// refuses with a usage error naming the flags when some are missing or
// others are remembered.
func resolveEndpoints(ctx context.Context, db *sqlite.DB, apiURL, authURL string, allowChange bool) (sqlite.Endpoints, error) {
	got, err := db.ResolveEndpoints(ctx, sqlite.Endpoints{APIBaseURL: apiURL, AuthBaseURL: authURL}, allowChange)
	switch {
	case errors.Is(err, sqlite.ErrNoEndpoints) && apiURL == "" && authURL == "":
		return got, usageErr(fmt.Errorf("%w, so give --api-url and --auth-url (e.g. the emulator's http://127.0.0.1:8080 and "+
			"http://127.0.0.1:8080/auth); they are remembered for the next commands", err))
	case errors.Is(err, sqlite.ErrNoEndpoints) && apiURL == "":
		return got, usageErr(fmt.Errorf("%w: give --api-url too", err))
	case errors.Is(err, sqlite.ErrNoEndpoints):
		return got, usageErr(fmt.Errorf("%w: give --auth-url too", err))
	case errors.Is(err, sqlite.ErrEndpointsChanged):
		return got, usageErr(fmt.Errorf("%w; pass --allow-url-change to switch", err))
	}
	return got, err
}
