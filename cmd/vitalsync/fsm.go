package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/vitalsync/vitalsync/fsm"
)

func runFSM(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "fsm", "[--format mermaid|dot] [--profile P]")
	format := fs.String("format", "mermaid", "diagram format: mermaid or dot")
	profile := fs.String("profile", "", "only the transitions of one profile: "+strings.Join(fsm.ProfileNames(), ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("fsm takes no arguments")
	}
	f, ok := fsm.ParseFormat(*format)
	if !ok {
		return usagef("--format must be mermaid or dot, not %q", *format)
	}
	var p *fsm.Profile
	if *profile != "" {
		pr, ok := fsm.ParseProfile(*profile)
		if !ok {
			return usagef("--profile must be one of %s, not %q", strings.Join(fsm.ProfileNames(), ", "), *profile)
		}
		p = &pr
	}
	out, err := fsm.Diagram(f, p)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(e.stdout, out)
	return err
}
