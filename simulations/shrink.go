package simulations

import (
	"context"
	"slices"
)

// MaxShrinkRuns bounds the solo runs one Shrink makes.
const MaxShrinkRuns = 2000

// Shrink minimizes s's schedule by delta debugging (Zeller's ddmin):
// it drops chunks of steps, and then the faults and app events of the steps
// left, while a solo run still breaks the invariant kind. The liveness tail
// at the end of a schedule is kept as it is. It returns the
// smallest schedule found (s itself when s does not fail so), and whether
// s failed at all.
func Shrink(ctx context.Context, s Solo, kind, dir string) (Solo, bool, error) {
	runs := 0
	// The liveness tail is the invariant's own phase, not a cause: it
	// stays, and only the steps before it shrink.
	var tail []Step
	body := s.Steps
	for len(body) > 0 && body[len(body)-1].Tail {
		tail = append([]Step{body[len(body)-1]}, tail...)
		body = body[:len(body)-1]
	}
	fails := func(steps []Step) (bool, error) {
		if len(steps)+len(tail) == 0 || runs >= MaxShrinkRuns {
			return false, nil
		}
		runs++
		c := s
		c.Steps = slices.Concat(steps, tail)
		res, err := RunSolo(ctx, c, dir)
		if err != nil {
			return false, err
		}
		for _, v := range res.Violations {
			if v.Kind == kind {
				return true, nil
			}
		}
		return false, nil
	}
	ok, err := fails(body)
	if err != nil || !ok {
		return s, false, err
	}
	steps := slices.Clone(body)
	if f, err := fails(nil); err != nil || f {
		s.Steps = tail
		return s, true, err
	}
	for n := 2; len(steps) >= 2; {
		chunk := (len(steps) + n - 1) / n
		reduced := false
		for start := 0; start < len(steps); start += chunk {
			cand := slices.Concat(steps[:start], steps[min(len(steps), start+chunk):])
			f, err := fails(cand)
			if err != nil {
				return s, true, err
			}
			if f {
				steps, n, reduced = cand, max(n-1, 2), true
				break
			}
		}
		if !reduced {
			if n >= len(steps) {
				break
			}
			n = min(len(steps), 2*n)
		}
	}
	// Then strip what each remaining step carries, one part at a time.
	for i := range steps {
		for _, strip := range []func(Step) Step{
			func(st Step) Step { st.Net = nil; return st },
			func(st Step) Step { st.Crash = nil; return st },
			func(st Step) Step { st.Concurrent = false; return st },
			func(st Step) Step { st.Locked = false; return st },
			func(st Step) Step { st.Between = nil; return st },
			func(st Step) Step { st.Sync = false; return st },
			func(st Step) Step { st.App = nil; return st },
		} {
			cand := slices.Clone(steps)
			cand[i] = strip(cand[i])
			if equalStep(cand[i], steps[i]) {
				continue
			}
			f, err := fails(cand)
			if err != nil {
				return s, true, err
			}
			if f {
				steps = cand
			}
		}
	}
	s.Steps = slices.Concat(steps, tail)
	return s, true, nil
}

func equalStep(a, b Step) bool {
	return a.App == b.App && len(a.Net) == len(b.Net) && a.Crash == b.Crash && a.Concurrent == b.Concurrent &&
		a.Locked == b.Locked &&
		len(a.Between) == len(b.Between) && a.Sync == b.Sync
}
