package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/vitalsync/vitalsync/fsm"
)

// choice is a flag.Value holding one of a fixed list of strings: Set
// refuses any other, naming the valid ones (a usage error, exit 2).
type choice = enumValue[string]

// choiceFlag defines a flag whose value is one of allowed, def by default.
func choiceFlag(fs *flag.FlagSet, name, def, usage string, allowed ...string) *choice {
	return enumFlag(fs, name, def, func(v string) (string, bool) { return v, slices.Contains(allowed, v) }, allowed, usage)
}

// profileValue is a flag.Value holding one of fsm's profiles by name.
type profileValue struct {
	profile fsm.Profile
	set     bool
}

// profileFlag defines --profile, def by default ("" for none: then
// required reports whether one was given).
func profileFlag(fs *flag.FlagSet, def, usage string) *profileValue {
	p := &profileValue{}
	if def != "" {
		p.profile, _ = fsm.ParseProfile(def)
		p.set = true
	}
	fs.Var(p, "profile", usage+" `name`: "+strings.Join(fsm.ProfileNames(), ", "))
	return p
}

func (p *profileValue) String() string {
	if p == nil || !p.set {
		return ""
	}
	return p.profile.Name
}

func (p *profileValue) Set(v string) error {
	prof, ok := fsm.ParseProfile(v)
	if !ok {
		return fmt.Errorf("no profile %q: use one of %s", v, strings.Join(fsm.ProfileNames(), ", "))
	}
	p.profile, p.set = prof, true
	return nil
}

// required returns the profile, or a usage error naming the valid ones
// when none was given.
func (p *profileValue) required(command string) (fsm.Profile, error) {
	if !p.set {
		return fsm.Profile{}, usagef("%s: --profile is required: one of %s", command, strings.Join(fsm.ProfileNames(), ", "))
	}
	return p.profile, nil
}

// enumValue is a flag.Value holding one of a fixed list of values of a
// string type (fsm's environments, regions), parsed by parse.
type enumValue[T ~string] struct {
	value T
	parse func(string) (T, bool)
	all   []T
}

// enumFlag defines a flag holding one of all, parsed by parse.
func enumFlag[T ~string](fs *flag.FlagSet, name string, def T, parse func(string) (T, bool), all []T, usage string) *enumValue[T] {
	v := &enumValue[T]{value: def, parse: parse, all: all}
	// The back-quoted list names the value in the flag list ("-format table|json").
	fs.Var(v, name, usage+": `"+choices(all)+"`")
	return v
}

// environmentFlag defines --environment.
func environmentFlag(fs *flag.FlagSet, def fsm.Environment, usage string) *enumValue[fsm.Environment] {
	return enumFlag(fs, "environment", def, fsm.ParseEnvironment, fsm.Environments(), usage)
}

// regionFlag defines --region.
func regionFlag(fs *flag.FlagSet, def fsm.Region, usage string) *enumValue[fsm.Region] {
	return enumFlag(fs, "region", def, fsm.ParseRegion, fsm.Regions(), usage)
}

func (e *enumValue[T]) String() string {
	if e == nil {
		return ""
	}
	return string(e.value)
}

func (e *enumValue[T]) Set(s string) error {
	v, ok := e.parse(s)
	if !ok {
		return fmt.Errorf("must be one of %s, not %q", choices(e.all), s)
	}
	e.value = v
	return nil
}

// choices lists the allowed values of a flag, e.g. "us|eu".
func choices[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}

// parseNoArgs parses the flags of a command that takes no arguments: one
// is a usage error, "CMD takes no arguments" and hint.
func parseNoArgs(fs *flag.FlagSet, args []string, hint string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("%s takes no arguments%s", fs.Name(), hint)
	}
	return nil
}

// flagGiven reports whether the command line set the flag.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
