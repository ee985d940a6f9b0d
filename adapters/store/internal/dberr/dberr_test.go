package dberr

import (
	"context"
	"errors"
	"testing"

	"github.com/vitalsync/vitalsync/issuer"
)

var (
	errClosed = errors.New("closed")
	errDriver = errors.New("driver")
	errRead   = errors.New("read by the driver")
)

func driver(err error) error {
	if err == errDriver {
		return errRead
	}
	return err
}

// Wrap tells the closed DB first, then the done context, then the
// driver's reading of the error.
func TestWrapOrder(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	tests := []struct {
		name   string
		ctx    context.Context
		closed bool
		err    error
		want   error
	}{
		{"no error", done, true, nil, nil},
		{"closed and done", done, true, errDriver, errClosed},
		{"done", done, false, errDriver, context.Canceled},
		{"driver", live, false, errDriver, errRead},
	}
	for _, tt := range tests {
		if got := Wrap(tt.ctx, tt.closed, errClosed, tt.err, driver); got != tt.want {
			t.Errorf("%s: Wrap = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Check(live, false, errClosed); got != nil {
		t.Errorf("Check of an open DB and a live ctx = %v", got)
	}
}

// An unavailable error matches issuer.ErrStoreUnavailable and its cause.
func TestUnavailable(t *testing.T) {
	err := Unavailable(errDriver)
	if !errors.Is(err, issuer.ErrStoreUnavailable) || !errors.Is(err, errDriver) {
		t.Fatalf("%v matches neither issuer.ErrStoreUnavailable nor its cause", err)
	}
}
