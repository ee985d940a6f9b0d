package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// CrashRelaunches bounds the launches after a crash that must bring the
// world to agreement; the clock moves CrashGap before each, past any
// backoff.
const (
	CrashRelaunches = 4
	CrashGap        = 2 * time.Hour
)

// crashSuite kills the engine at each mutating call of each launch of
// each runner transcript in turn, before and after the world applies it,
// starts it again on the same journal and relaunches it.
func (h *harness) crashSuite(ctx context.Context) error {
	for i, c := range h.cfg.Runner.Cases {
		if h.cfg.Case != "" && !strings.HasPrefix(h.cfg.Case, c.Name+"/") {
			continue
		}
		eng, err := h.engine(ctx)
		if err != nil {
			return err
		}
		if needs(eng.Hello(), c) != "" {
			continue // the runner suite reports the skip
		}
		for si, s := range c.Steps {
			if s.Op != OpLaunch {
				continue
			}
			// Count the launch's crash points: an uncrashed run with a
			// crash point past any call.
			p := &playback{h: h, c: c, journal: h.journalPath("crash", i), lax: true}
			count := &crashAt{step: si, k: -1}
			if err := p.run(ctx, si+1, count); err != nil {
				var f *failure
				if !errors.As(err, &f) {
					return err
				}
				// The engine failed a step outright (a protocol error): the
				// launch's crash points cannot be counted.
				if h.selected(fmt.Sprintf("%s/launch:%d", c.Name, s.Line)) {
					h.report(CaseResult{Suite: SuiteCrash, Name: fmt.Sprintf("%s/launch:%d", c.Name, s.Line),
						Status: StatusFail, Detail: f.detail(c)})
				}
				continue
			}
			for k := 1; k <= count.seen; k++ {
				for _, after := range []bool{false, true} {
					if !after && count.names[k-1] == CallJournalSaved {
						continue // a journal write has no "before": the write is the engine's
					}
					name := fmt.Sprintf("%s/launch:%d/kill:%d-%s", c.Name, s.Line, k, map[bool]string{false: "before", true: "after"}[after])
					if !h.selected(name) {
						continue
					}
					r := CaseResult{Suite: SuiteCrash, Name: name, Status: StatusPass}
					at := &crashAt{step: si, k: k, after: after}
					if err := h.reportPlayed(r, c, h.crashCase(ctx, c, h.journalPath("crash", i), at)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// crashCase plays the case up to the crash, restarts the engine and
// relaunches it until the world agrees.
func (h *harness) crashCase(ctx context.Context, c RunnerCase, journal string, at *crashAt) error {
	p := &playback{h: h, c: c, journal: journal, lax: true}
	err := p.run(ctx, at.step+1, at)
	if !errors.Is(err, errKilledHere) {
		if err == nil {
			return &failure{line: c.Steps[at.step].Line,
				msg: fmt.Sprintf("the launch made fewer than %d mutating calls on a replay: the engine is not deterministic", at.k)}
		}
		return err
	}
	where := fmt.Sprintf("killed at call %d (%s, %s the world applied it)", at.k, at.call,
		map[bool]string{false: "before", true: "after"}[at.after || at.call == CallJournalSaved])
	line := c.Steps[at.step].Line
	fail := func(format string, args ...any) error {
		return &failure{line: line, msg: where + ": " + fmt.Sprintf(format, args...)}
	}
	eng, err := h.engine(ctx) // a new process
	if err != nil {
		return err
	}
	res, err := eng.Do(ctx, CmdJournalGet, JournalRequest{Journal: journal}, p.w.now, nil)
	if err != nil {
		h.eng.Kill()
		h.eng = nil
		return fail("journal.get after the restart: %v%s", err, stderrTail(eng))
	}
	var got JournalResult
	if err := json.Unmarshal(res, &got); err != nil {
		return fail("journal.get's result: %v", err)
	}
	if !entriesEqual(got.Entry, p.w.entry) {
		want, _ := json.Marshal(p.w.entry)
		have, _ := json.Marshal(got.Entry)
		return fail("the restarted engine reads another journal than the last it reported saved:\n  reported: %s\n  read:     %s", want, have)
	}
	var log []string
	for n := 1; n <= CrashRelaunches; n++ {
		p.w.now = p.w.now.Add(CrashGap)
		if err := p.step(ctx, Step{Op: OpLaunch, Line: line}, nil); err != nil {
			return err
		}
		log = append(log, p.w.log...)
		agrees, wrong := p.w.judge()
		if wrong {
			return fail("relaunch %d left the SDK signed in as %s while the app's user is %q (Vital user %s); calls after the restart:\n%s",
				n, p.w.user, p.w.app.AppUserID, p.w.users[p.w.app.AppUserID], indent(joinLines(log)))
		}
		if agrees {
			return nil
		}
	}
	return fail("no agreement after %d relaunches: the SDK is %s as %q, the app's user %q (Vital user %s); calls after the restart:\n%s",
		CrashRelaunches, p.w.st, p.w.user, p.w.app.AppUserID, p.w.users[p.w.app.AppUserID], indent(joinLines(log)))
}

func joinLines(ls []string) string {
	if len(ls) == 0 {
		return "(none)"
	}
	s := ""
	for _, l := range ls {
		s += l + "\n"
	}
	return s
}

// entriesEqual compares two journal entries, times by instant.
func entriesEqual(a, b JournalEntry) bool {
	a.NextAttemptAt, b.NextAttemptAt = normalTime(a.NextAttemptAt), normalTime(b.NextAttemptAt)
	a.LastResolvedAt, b.LastResolvedAt = normalTime(a.LastResolvedAt), normalTime(b.LastResolvedAt)
	return reflect.DeepEqual(a, b)
}
