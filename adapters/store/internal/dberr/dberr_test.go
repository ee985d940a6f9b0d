package dberr

import (
	"context"
	"errors"
	"testing"

	"github.com/vitalsync/vitalsync/issuer"
)

var errClosed, errDriver = errors.New("closed"), errors.New("driver")

// Wrap tells the closed DB first, then the done context, then the
// driver's reading of the error (here: marked unavailable).
func TestWrapOrder(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	tests := []struct {
		name        string
		ctx         context.Context
		closed      bool
		err         error
		want        error
		unavailable bool
	}{
		{"no error", done, true, nil, nil, false},
		{"closed and done", done, true, errDriver, errClosed, false},
		{"done", done, false, errDriver, context.Canceled, false},
		{"driver", live, false, errDriver, errDriver, true},
	}
	for _, tt := range tests {
		got := Wrap(tt.ctx, tt.closed, errClosed, tt.err, Unavailable)
		if !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: Wrap = %v, want %v", tt.name, got, tt.want)
		}
		if errors.Is(got, issuer.ErrStoreUnavailable) != tt.unavailable {
			t.Errorf("%s: Wrap = %v, unavailable %v", tt.name, got, !tt.unavailable)
		}
	}
	if got := Check(live, false, errClosed); got != nil {
		t.Errorf("Check of an open DB and a live ctx = %v", got)
	}
}
