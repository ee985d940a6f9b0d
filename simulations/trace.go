package simulations

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// TraceFormat and TraceVersion identify a trace file's header.
const (
	TraceFormat  = "vitalsync-simulation-trace"
	TraceVersion = 1
)

// Solo is one installation's run, alone: what a trace replays.
type Solo struct {
	Seed     uint64 `json:"seed"`
	Install  int    `json:"install"`
	Strategy string `json:"strategy"`
	Setup    Setup  `json:"setup"`
	Steps    []Step `json:"-"`
	// impl, when set, is the strategy to run instead of the one named
	// (tests of strategies that are not listed in Strategies).
	impl Strategy
}

// header is a trace's first line.
type header struct {
	Type    string `json:"type"` // "header"
	Format  string `json:"format"`
	Version int    `json:"version"`
	Solo
}

// SoloResult is what a solo run did.
type SoloResult struct {
	Records    []Record
	Violations []Violation
}

// Install returns installation inst of a fleet run with cfg, alone, under
// strategy: the same setup and schedule it has in the fleet.
func Install(cfg Config, inst int, strategy string) (Solo, error) {
	if err := cfg.fill(); err != nil {
		return Solo{}, err
	}
	if inst < 0 || inst >= cfg.Installs {
		return Solo{}, fmt.Errorf("%w: installation %d of %d", ErrConfig, inst, cfg.Installs)
	}
	if _, err := ParseStrategies(strategy); err != nil {
		return Solo{}, err
	}
	knobs := drawKnobs(cfg.Seed, cfg.Faults, !cfg.NoSwarm, cfg.Launches)
	setup, steps := schedule(cfg.Seed, inst, cfg.Launches, cfg.Profiles, cfg.SQLiteFraction, knobs)
	return Solo{Seed: cfg.Seed, Install: inst, Strategy: strategy, Setup: setup, Steps: steps}, nil
}

// RunSolo runs one installation alone, in its own world, exactly as it ran
// in its fleet. dir holds its SQLite file when its setup asks for one (a
// temporary directory when empty).
func RunSolo(ctx context.Context, s Solo, dir string) (SoloResult, error) {
	var res SoloResult
	strats, err := ParseStrategies(s.Strategy)
	if s.impl != nil {
		strats, err = []Strategy{s.impl}, nil
	}
	if err != nil || len(strats) != 1 {
		return res, &NameError{Kind: "strategy", Name: s.Strategy}
	}
	if len(s.Steps) == 0 {
		return res, fmt.Errorf("%w: no steps", ErrConfig)
	}
	if s.Setup.SQLite && dir == "" {
		if dir, err = os.MkdirTemp("", "vitalsync-solo-"); err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
	}
	d, err := newDevice(ctx, s.Seed, s.Install, s.Setup, strats[0], dir)
	if err != nil {
		return res, err
	}
	defer d.close()
	for i, st := range s.Steps {
		if i > 0 && st.At < s.Steps[i-1].At {
			return res, fmt.Errorf("%w: step %d goes back in time", ErrTrace, i)
		}
		out := d.step(ctx, i, st, i == len(s.Steps)-1)
		d.last = out.after
		res.Records = append(res.Records, out.rec)
		res.Violations = append(res.Violations, out.violations...)
	}
	return res, nil
}

// WriteTrace writes s and its records as a trace: a header line, then one
// JSON line per step.
func WriteTrace(w io.Writer, s Solo, recs []Record) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(header{Type: "header", Format: TraceFormat, Version: TraceVersion, Solo: s}); err != nil {
		return err
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ErrTrace is matched (errors.Is) by the error for a malformed or foreign
// trace file.
var ErrTrace = errors.New("simulations: not a valid trace")

// ErrReplayMismatch is matched by the error of a replay that did not
// reproduce its trace line for line.
var ErrReplayMismatch = errors.New("simulations: replay differs from the trace")

// ReadTrace parses a trace: the installation's run and its recorded lines.
func ReadTrace(r io.Reader) (Solo, [][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return Solo{}, nil, fmt.Errorf("%w: %v", ErrTrace, err)
		}
		return Solo{}, nil, fmt.Errorf("%w: empty", ErrTrace)
	}
	var h header
	if err := strictUnmarshal(sc.Bytes(), &h); err != nil || h.Type != "header" || h.Format != TraceFormat {
		return Solo{}, nil, fmt.Errorf("%w: line 1 is not a %s header", ErrTrace, TraceFormat)
	}
	if h.Version != TraceVersion {
		return Solo{}, nil, fmt.Errorf("%w: version %d, want %d", ErrTrace, h.Version, TraceVersion)
	}
	s := h.Solo
	var lines [][]byte
	for n := 2; sc.Scan(); n++ {
		var rec Record
		if err := strictUnmarshal(sc.Bytes(), &rec); err != nil || rec.Type != "step" {
			return Solo{}, nil, fmt.Errorf("%w: line %d is not a step", ErrTrace, n)
		}
		if rec.Install != s.Install || rec.Index != len(s.Steps) {
			return Solo{}, nil, fmt.Errorf("%w: line %d is out of order", ErrTrace, n)
		}
		s.Steps = append(s.Steps, rec.Input)
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		return Solo{}, nil, fmt.Errorf("%w: %v", ErrTrace, err)
	}
	if len(s.Steps) == 0 {
		return Solo{}, nil, fmt.Errorf("%w: no steps", ErrTrace)
	}
	return s, lines, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// Replay reads a trace, runs its installation again and checks that every
// step's line comes out byte for byte the same. It returns the replay's
// result; a difference is an error matching ErrReplayMismatch that names
// the first line that differs.
func Replay(ctx context.Context, r io.Reader, dir string) (Solo, SoloResult, error) {
	s, lines, err := ReadTrace(r)
	if err != nil {
		return s, SoloResult{}, err
	}
	res, err := RunSolo(ctx, s, dir)
	if err != nil {
		return s, res, err
	}
	for i, rec := range res.Records {
		b, err := json.Marshal(rec)
		if err != nil {
			return s, res, err
		}
		if !bytes.Equal(b, lines[i]) {
			return s, res, fmt.Errorf("%w: line %d (step %d)", ErrReplayMismatch, i+2, i)
		}
	}
	return s, res, nil
}
