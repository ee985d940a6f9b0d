package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/reconcile"
)

// UserChecker asks the team API whether a Vital user exists
// (GET /v2/user/{id}). An error that says it is transient (reconcile's
// Transient()/RetryAfterHint() protocol: 429, 5xx, network) is retried
// after its Retry-After, or a backoff without one; any other error ends the
// audit.
type UserChecker interface {
	UserExists(ctx context.Context, vitalUserID string) (bool, error)
}

// UserCheckerFunc adapts a function to UserChecker.
type UserCheckerFunc func(ctx context.Context, vitalUserID string) (bool, error)

// UserExists calls f.
func (f UserCheckerFunc) UserExists(ctx context.Context, id string) (bool, error) { return f(ctx, id) }

// ErrCheckFailed wraps a user check that failed for good.
var ErrCheckFailed = errors.New("audit: user check failed")

// checkRetries bounds the attempts per user; checkBackoff is the wait
// between transient failures without a Retry-After.
const (
	checkRetries = 8
	checkBackoff = 200 * time.Millisecond
)

// sleep waits d or until ctx ends; tests replace it.
var sleep = func(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// checkUsers reads source once for the distinct mapped Vital users of its
// shard, asks checker about each once, Concurrency at a time, and returns
// those that do not exist.
func checkUsers(ctx context.Context, source Source, opts Options) (map[string]bool, error) {
	ids := map[string]bool{}
	err := source.Each(ctx, func(r *Row) error {
		if r.Err != nil || r.MappedVitalUserID == "" {
			return nil
		}
		if opts.Shards > 1 && shardOf(r.InstallationID, opts.Shards) != opts.Shard {
			return nil
		}
		if !ids[r.MappedVitalUserID] {
			ids[strings.Clone(r.MappedVitalUserID)] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	conc := opts.Concurrency
	if conc <= 0 {
		conc = 8
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		missing  = map[string]bool{}
		firstErr error
		wg       sync.WaitGroup
		work     = make(chan string)
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				exists, err := checkOne(ctx, opts.Checker, id)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if err == nil && !exists {
					missing[id] = true
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for id := range ids {
		select {
		case work <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return missing, nil
}

func checkOne(ctx context.Context, c UserChecker, id string) (bool, error) {
	for attempt := 1; ; attempt++ {
		exists, err := c.UserExists(ctx, id)
		if err == nil {
			return exists, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		transient, hint := reconcile.IsTransient(err), reconcile.RetryAfter(err)
		if !transient || attempt == checkRetries {
			return false, fmt.Errorf("%w: %w", ErrCheckFailed, err)
		}
		wait := hint
		if wait <= 0 {
			wait = checkBackoff << (attempt - 1)
		}
		if err := sleep(ctx, wait); err != nil {
			return false, err
		}
	}
}
