package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrKilled is returned by Engine.Do when the world killed the engine at a
// call (a crash point).
var ErrKilled = errors.New("conformance: the engine was killed at a call")

// ErrEngineExited is matched (errors.Is) when the engine closed its
// stdout (it exited or crashed) while the harness waited for a message.
var ErrEngineExited = errors.New("conformance: the engine closed its stdout (exited?)")

// ErrEngineTimeout is matched when the engine sent no message within its
// timeout.
var ErrEngineTimeout = errors.New("conformance: no message from the engine in time")

// DefaultMessageTimeout bounds the wait for any one message from the
// engine unless Config.MessageTimeout says otherwise.
const DefaultMessageTimeout = 20 * time.Second

// Engine is the harness's end of one engine process.
type Engine struct {
	argv   []string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan lineOrErr
	stderr *tailBuffer
	nextID int64
	hello  Hello
	// timeout bounds the wait for each message.
	timeout time.Duration
}

type lineOrErr struct {
	line []byte
	err  error
}

// SplitCommand splits an engine command line into words: spaces separate,
// single and double quotes group, a backslash escapes the next character.
func SplitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("conformance: unterminated quote or escape in the engine command %q", s)
	}
	if in {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, errors.New("conformance: the engine command is empty")
	}
	return out, nil
}

// StartEngine starts argv and says hello; timeout bounds the wait for
// each message (0: DefaultMessageTimeout).
func StartEngine(ctx context.Context, argv []string, now time.Time, timeout time.Duration) (*Engine, error) {
	if timeout <= 0 {
		timeout = DefaultMessageTimeout
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e := &Engine{argv: argv, cmd: cmd, stdin: stdin, lines: make(chan lineOrErr, 1), stderr: &tailBuffer{max: 16 << 10},
		timeout: timeout}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("conformance: start the engine %q: %w", strings.Join(argv, " "), err)
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 64<<10)
		for {
			l, err := r.ReadBytes('\n')
			if len(l) > 0 && err == nil {
				e.lines <- lineOrErr{line: bytes.TrimRight(l, "\r\n")}
				continue
			}
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			e.lines <- lineOrErr{err: err}
			close(e.lines)
			return
		}
	}()
	res, err := e.Do(ctx, CmdHello, map[string]any{"protocol": ProtocolVersion}, now, nil)
	if err != nil {
		e.Kill()
		return nil, fmt.Errorf("conformance: hello: %w", err)
	}
	if err := json.Unmarshal(res, &e.hello); err != nil {
		e.Kill()
		return nil, fmt.Errorf("%w: hello's result: %v", ErrProtocol, err)
	}
	if e.hello.Protocol != ProtocolVersion {
		e.Kill()
		return nil, fmt.Errorf("%w: the engine speaks protocol %d, the harness %d", ErrProtocol, e.hello.Protocol, ProtocolVersion)
	}
	return e, nil
}

// Hello returns the engine's hello.
func (e *Engine) Hello() Hello { return e.hello }

// Stderr returns the last of what the engine wrote on stderr.
func (e *Engine) Stderr() string { return e.stderr.String() }

// CallHandler answers one call of the engine. kill set: the harness kills
// the engine instead of answering.
type CallHandler func(call string, args json.RawMessage) (result any, werr *WireError, now time.Time, kill bool)

// Do sends one command with params (an object whose fields join the
// command's), answers the engine's calls with h, and returns the reply's
// result.
func (e *Engine) Do(ctx context.Context, cmd string, params any, now time.Time, h CallHandler) (json.RawMessage, error) {
	e.nextID++
	id := e.nextID
	line, err := commandLine(id, cmd, now, params)
	if err != nil {
		return nil, err
	}
	if err := e.send(line); err != nil {
		return nil, err
	}
	for {
		l, err := e.next(ctx)
		if err != nil {
			return nil, err
		}
		var m message
		if err := json.Unmarshal(l, &m); err != nil {
			return nil, fmt.Errorf("%w: not JSON: %q", ErrProtocol, truncate(string(l)))
		}
		switch {
		case m.Reply != nil:
			if *m.Reply != id {
				return nil, fmt.Errorf("%w: reply to %d while command %d runs", ErrProtocol, *m.Reply, id)
			}
			if m.Error != nil {
				return nil, fmt.Errorf("the engine failed %s: %s", cmd, m.Error.Message)
			}
			return m.Result, nil
		case m.Call != "" && m.ID != nil:
			if h == nil {
				return nil, fmt.Errorf("%w: call %s during %s", ErrProtocol, m.Call, cmd)
			}
			res, werr, at, kill := h(m.Call, m.Args)
			if kill {
				e.Kill()
				return nil, ErrKilled
			}
			a := message{Answer: m.ID, Now: formatNow(at), Error: werr}
			if werr == nil {
				if a.Result, err = json.Marshal(res); err != nil {
					return nil, err
				}
			}
			data, err := json.Marshal(a)
			if err != nil {
				return nil, err
			}
			if err := e.send(data); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: neither a reply nor a call: %q", ErrProtocol, truncate(string(l)))
		}
	}
}

func commandLine(id int64, cmd string, now time.Time, params any) ([]byte, error) {
	fields := map[string]any{}
	if params != nil {
		data, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &fields); err != nil {
			return nil, err
		}
	}
	fields["id"], fields["cmd"], fields["now"] = id, cmd, formatNow(now)
	return json.Marshal(fields)
}

func (e *Engine) send(line []byte) error {
	if _, err := e.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("conformance: write to the engine: %w", err)
	}
	return nil
}

func (e *Engine) next(ctx context.Context) ([]byte, error) {
	t := time.NewTimer(e.timeout)
	defer t.Stop()
	select {
	case l, ok := <-e.lines:
		if !ok || l.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEngineExited, l.err)
		}
		return l.line, nil
	case <-t.C:
		return nil, fmt.Errorf("%w (%s)", ErrEngineTimeout, e.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Kill kills the engine process at once (SIGKILL) and waits for it.
func (e *Engine) Kill() {
	if e.cmd.Process != nil {
		e.cmd.Process.Kill()
	}
	e.stdin.Close()
	e.cmd.Wait()
	for range e.lines {
	}
}

// Close closes the engine's stdin and waits for it to exit, killing it
// after a grace period.
func (e *Engine) Close() error {
	e.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case err := <-done:
		for range e.lines {
		}
		return err
	case <-time.After(5 * time.Second):
		e.cmd.Process.Kill()
		<-done
		for range e.lines {
		}
		return errors.New("conformance: the engine did not exit when its stdin closed")
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
