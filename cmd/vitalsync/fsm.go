package main

import (
	"context"
	"fmt"

	"github.com/vitalsync/vitalsync/fsm"
)

func runFSM(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "fsm", "[--format mermaid|dot] [--profile P]")
	format := choiceFlag(fs, "format", "mermaid", "diagram format", "mermaid", "dot")
	profile := profileFlag(fs, "", "only the transitions of one profile")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	f, _ := fsm.ParseFormat(format.String())
	var p *fsm.Profile
	if profile.set {
		p = &profile.profile
	}
	out, err := fsm.Diagram(f, p)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(e.stdout, out)
	return err
}
