package sqlite

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoEndpoints means ResolveEndpoints was not given both base URLs and
// the database remembers none to complete them.
var ErrNoEndpoints = errors.New("no Junction base URLs")

// ResolveEndpoints decides which base URLs a command on the database uses:
// the ones given, a missing one taken from what it remembers; or else the
// remembered ones. The first URLs used are remembered (RememberEndpoints);
// other ones later are refused with an error matching ErrEndpointsChanged
// that names both, unless replace, which remembers them instead. With
// neither given nor remembered, or only one of the two, it returns an error
// matching ErrNoEndpoints. Resolving to the remembered URLs writes nothing.
func (db *DB) ResolveEndpoints(ctx context.Context, given Endpoints, replace bool) (Endpoints, error) {
	stored, found, err := db.LoadEndpoints(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	want := given
	if found {
		if want.APIBaseURL == "" {
			want.APIBaseURL = stored.APIBaseURL
		}
		if want.AuthBaseURL == "" {
			want.AuthBaseURL = stored.AuthBaseURL
		}
		if want.same(stored) {
			return stored, nil
		}
	}
	if want.APIBaseURL == "" || want.AuthBaseURL == "" {
		return Endpoints{}, fmt.Errorf("%w: the database remembers none", ErrNoEndpoints)
	}
	got, err := db.RememberEndpoints(ctx, want, replace)
	if errors.Is(err, ErrEndpointsChanged) {
		return Endpoints{}, fmt.Errorf("%w: it was first used with API %s and auth %s, not API %s and auth %s",
			ErrEndpointsChanged, got.APIBaseURL, got.AuthBaseURL, want.APIBaseURL, want.AuthBaseURL)
	}
	return got, err
}
