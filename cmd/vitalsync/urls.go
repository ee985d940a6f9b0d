package main

import (
	"context"
	"errors"
	"flag"
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

// endpointFlags are the base URL flags of launch and device.
type endpointFlags struct {
	apiURL, authURL, legacyAuthURL urlFlag
	allowURLChange                 bool
}

func newEndpointFlags(fs *flag.FlagSet) *endpointFlags {
	f := &endpointFlags{}
	fs.Var(&f.apiURL, "api-url", "Junction API base URL (default: the one the database remembers)")
	fs.Var(&f.authURL, "auth-url", "Junction auth server base URL (default: the one the database remembers)")
	fs.Var(&f.legacyAuthURL, "legacy-auth-url", "base URL of the legacy Firebase endpoints on legacy profiles, as for a Firebase emulator (default: the real hosts; not remembered)")
	fs.BoolVar(&f.allowURLChange, "allow-url-change", false, "use --api-url/--auth-url even though the database remembers others, and remember them instead")
	return f
}

// open opens command's device database at path, refused when it holds
// another kind of file, and the base URLs to use: the flags', or those it
// remembers (sqlite.DB.ResolveEndpoints).
func (f *endpointFlags) open(ctx context.Context, command, path string) (*sqlite.DB, sqlite.Endpoints, error) {
	if err := checkDatabaseFile(command, path); err != nil {
		return nil, sqlite.Endpoints{}, err
	}
	db, err := sqlite.OpenDevice(ctx, path)
	if err != nil {
		return nil, sqlite.Endpoints{}, err
	}
	ends, err := db.ResolveEndpoints(ctx, sqlite.Endpoints{APIBaseURL: f.apiURL.url, AuthBaseURL: f.authURL.url}, f.allowURLChange)
	if err != nil {
		db.Close()
		return nil, sqlite.Endpoints{}, f.usage(err)
	}
	return db, ends, nil
}

// usage is the usage error of ResolveEndpoints' refusal, naming the flags
// to give when some are missing or others are remembered.
func (f *endpointFlags) usage(err error) error {
	switch {
	case errors.Is(err, sqlite.ErrNoEndpoints) && f.apiURL.url == "" && f.authURL.url == "":
		return usageErr(fmt.Errorf("%w, so give --api-url and --auth-url (e.g. the emulator's http://127.0.0.1:8080 and "+
			"http://127.0.0.1:8080/auth); they are remembered for the next commands", err))
	case errors.Is(err, sqlite.ErrNoEndpoints) && f.apiURL.url == "":
		return usageErr(fmt.Errorf("%w: give --api-url too", err))
	case errors.Is(err, sqlite.ErrNoEndpoints):
		return usageErr(fmt.Errorf("%w: give --auth-url too", err))
	case errors.Is(err, sqlite.ErrEndpointsChanged):
		return usageErr(fmt.Errorf("%w; pass --allow-url-change to switch", err))
	}
	return err
}
