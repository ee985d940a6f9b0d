package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// durationForms is what a duration flag accepts, for its messages.
const durationForms = "a number and a unit, e.g. 90s, 15m, 2h, 30d or 1d12h (units: ns, us, ms, s, m, h, d = 24h)"

// errBadDuration is matched by the error of a duration flag's value that
// does not parse.
var errBadDuration = errors.New("not a duration")

// parseDuration is time.ParseDuration with days: "30d", "1.5d", "1d12h".
// A number without a unit ("5") is refused with the accepted forms.
func parseDuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%w: %q: give %s", errBadDuration, s, durationForms)
	}
	if s == "" {
		return bad()
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && s != "0" {
		return bad() // a bare number: seconds? minutes? say so
	}
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad()
		}
		return d, nil
	}
	sign := time.Duration(1)
	if strings.HasPrefix(days, "-") {
		sign, days = -1, days[1:]
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return bad()
		}
	}
	n, err := strconv.ParseFloat(days, 64)
	if err != nil || days == "" || strings.ContainsAny(days, "+-eEinfINFnN") {
		return bad()
	}
	total := time.Duration(n * float64(24*time.Hour))
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return bad()
		}
		total += r
	}
	return sign * total, nil
}

// durationValue is a flag.Value for parseDuration.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

// durationFlag defines a duration flag that accepts days and says the
// accepted forms when a value does not parse.
func durationFlag(fs *flag.FlagSet, name string, def time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	durationFlagVar(fs, p, name, def, usage)
	return p
}

// durationFlagVar is durationFlag storing into p.
func durationFlagVar(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	// The back-quoted word names the value in the flag list ("-stale duration").
	fs.Var((*durationValue)(p), name, usage+"; a `duration` such as 90s, 15m, 2h or 30d")
}
