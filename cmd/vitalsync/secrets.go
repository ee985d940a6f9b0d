package main

import (
	"flag"
	"fmt"

	"github.com/vitalsync/vitalsync/httpops"
)

// Secrets (sessions, session secrets, API keys) reach a command from one of
// three sources, so that none has to sit on a command line where ps and
// shell histories show it. In order of precedence:
//
//  1. the flag itself (--session S): kept for compatibility and tests; the
//     README never uses it;
//  2. a file (--session-file F): the whole file, surrounding white space
//     trimmed;
//  3. an environment variable ($VITALSYNC_SESSION).
//
// Giving both the flag and its file is a usage error; a file that is
// missing, unreadable, too large or empty is a usage error too (exit 2) that
// names the flag and the file, never the contents.

// secretFlag is a secret given by flag, file or environment variable.
type secretFlag struct {
	name  string // the flag, e.g. "session"
	env   string // the environment variable, "" for none
	value string // --name
	file  string // --name-file
}

// newSecretFlag registers --name and --name-file on fs. usage describes the
// secret; the flags' help says where else it may come from.
func newSecretFlag(fs *flag.FlagSet, name, env, usage string) *secretFlag {
	s := &secretFlag{name: name, env: env}
	more := ""
	if env != "" {
		more = " or $" + env
	}
	fs.StringVar(&s.value, name, "", usage+" (visible in ps: prefer --"+name+"-file"+more+")")
	fs.StringVar(&s.file, name+"-file", "", "read "+usage+" from this file (whole file, white space trimmed)")
	return s
}

// secretFileError is a secret file that cannot be used. It never holds the
// file's contents.
type secretFileError struct {
	Flag string // e.g. "session-file"
	Path string
	Err  error // httpops.ReadSecretFile's: fs.ErrNotExist, …, httpops.ErrEmptySecret or ErrSecretTooLarge
}

func (e *secretFileError) Error() string { return fmt.Sprintf("--%s %s: %v", e.Flag, e.Path, e.Err) }

func (e *secretFileError) Unwrap() error { return e.Err }

// load returns the secret and whether one was given.
func (s *secretFlag) load() (string, bool, error) {
	switch {
	case s.value != "" && s.file != "":
		return "", false, usagef("give --%s or --%s-file, not both", s.name, s.name)
	case s.value != "":
		return s.value, true, nil
	case s.file != "":
		v, err := httpops.ReadSecretFile(s.file)
		if err != nil {
			return "", false, usageErr(&secretFileError{Flag: s.name + "-file", Path: s.file, Err: err})
		}
		return v, true, nil
	case s.env != "":
		v, ok, err := httpops.LookupSecretEnv(s.env)
		if err != nil {
			return "", false, usageErr(fmt.Errorf("$%s: %w", s.env, err))
		}
		return v, ok, nil
	}
	return "", false, nil
}
