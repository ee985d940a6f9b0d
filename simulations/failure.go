package simulations

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Failure is the engine's first broken invariant in a fleet's run, shrunk:
// its installation's schedule cut to the steps that still break it, and
// that schedule's run, ready for WriteTrace.
type Failure struct {
	Violation Violation
	// Steps is the length of the installation's schedule before shrinking.
	Steps int
	// Solo is the shrunk schedule and Result its run.
	Solo   Solo
	Result SoloResult
}

// EngineFailure shrinks the engine's first violation in rep, the report of
// a Run of cfg: it takes the installation alone (Install), shrinks its
// schedule (Shrink) and runs it (RunSolo). It returns nil when the engine
// broke no invariant.
func EngineFailure(ctx context.Context, cfg Config, rep *FleetReport) (*Failure, error) {
	var v *Violation
	for _, s := range rep.Strategies {
		if s.Name == (Engine{}).Name() && len(s.Violations) > 0 {
			v = &s.Violations[0]
		}
	}
	if v == nil {
		return nil, nil
	}
	solo, err := Install(cfg, v.Install, "engine")
	if err != nil {
		return nil, err
	}
	small, _, err := Shrink(ctx, solo, v.Kind, "")
	if err != nil {
		return nil, err
	}
	res, err := RunSolo(ctx, small, "")
	if err != nil {
		return nil, err
	}
	return &Failure{Violation: *v, Steps: len(solo.Steps), Solo: small, Result: res}, nil
}

// RelaxRSAMinimum lifts Go's 1,024-bit RSA minimum in this process
// (GODEBUG rsa1024min=0), so that a binary's simulated emulators can sign
// with the world's 512-bit key (SigningKeyBits; at 1,024 bits the
// signatures were four fifths of a simulated launch's CPU), and returns
// the function that puts the previous GODEBUG back. Those tokens never
// leave the process; lift it only while a simulation runs.
func RelaxRSAMinimum() (restore func()) {
	old, had := os.LookupEnv("GODEBUG")
	v := "rsa1024min=0"
	if had && old != "" {
		v = old + "," + v
	}
	os.Setenv("GODEBUG", v)
	return func() {
		if had {
			os.Setenv("GODEBUG", old)
		} else {
			os.Unsetenv("GODEBUG")
		}
	}
}

// ProgressLine returns a Config.Progress that shows the strategies'
// progress side by side on one line of a terminal, w.
func ProgressLine(w io.Writer, strategies []Strategy) func(name string, done, total int) {
	pct := make([]int, len(strategies))
	for k := range pct {
		pct[k] = -1
	}
	finished := 0
	return func(name string, done, total int) {
		for k, s := range strategies {
			if s.Name() != name {
				continue
			}
			p := 100 * done / total
			if p == pct[k] {
				return
			}
			pct[k] = p
			if done == total {
				finished++
			}
		}
		var parts []string
		for k, s := range strategies {
			parts = append(parts, fmt.Sprintf("%s %3d%%", s.Name(), max(0, pct[k])))
		}
		fmt.Fprintf(w, "\r%s (of %d installations)", strings.Join(parts, "  "), total)
		if finished == len(strategies) {
			fmt.Fprintln(w)
		}
	}
}
