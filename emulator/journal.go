package emulator

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/internal/atomicfile"
)

// The files of a state directory ([LoadDir], [AttachDir]).
const (
	// SnapshotFile holds a [State] as [WriteStateFile] writes it.
	SnapshotFile = "emulator.json"
	// LogFile holds the changes made since the snapshot, one JSON object a
	// line after a header naming the snapshot (its SHA-256) it continues.
	LogFile = "emulator.log"
)

// ErrInvalidLog is matched by the error of [LoadDir] when the log holds a
// line that is not a change; the error names the line. (A last line cut
// short by a crash is not an error: it was never acknowledged.)
var ErrInvalidLog = errors.New("emulator: invalid state log")

// maxLogLine bounds one line of the log; a change takes a few hundred
// bytes.
const maxLogLine = 1 << 20

// compactSlack is how far the log may grow beyond twice the snapshot
// before [Dir.Flush] writes a new snapshot; tests lower it.
var compactSlack int64 = 4 << 20

// change is one line of the log: the new record of one user or token (or
// its removal), a Sign-In Token minted, the clock's offset, or a reset.
// Replaying a record sets what it names, so replaying the log over the
// snapshot it continues yields the state that was logged.
type change struct {
	User        *UserState         `json:"user,omitempty"`
	Access      *AccessTokenState  `json:"access,omitempty"`
	AccessGone  string             `json:"access_gone,omitempty"`
	Refresh     *RefreshTokenState `json:"refresh,omitempty"`
	Mint        *SignInTokenState  `json:"mint,omitempty"`
	ClockOffset *int64             `json:"clock_offset_ns,omitempty"`
	Reset       bool               `json:"reset,omitempty"`
}

// logHeader is the log's first line.
type logHeader struct {
	Format   string `json:"format"`          // logFormat
	Snapshot string `json:"snapshot_sha256"` // of the snapshot file's bytes
}

const logFormat = "vitalsync-emulator-log-1"

// record appends a change to the pending log, when a [Dir] keeps the
// emulator's state. The caller holds e.mu.
func (e *Emulator) record(c change) {
	if !e.journaling {
		return
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic("emulator: marshal change: " + err.Error())
	}
	e.pending = append(append(e.pending, b...), '\n')
}

// logUser records a user's new record. The caller holds e.mu.
func (e *Emulator) logUser(u *user) {
	if e.journaling {
		us := u.state()
		e.record(change{User: &us})
	}
}

// logAccess records an access token's new record, or its removal. The
// caller holds e.mu.
func (e *Emulator) logAccess(token string) {
	if !e.journaling {
		return
	}
	if g := e.access[token]; g != nil {
		e.record(change{Access: &AccessTokenState{token, g.userID, g.expires}})
		return
	}
	e.record(change{AccessGone: token})
}

// logRefresh records a refresh token's new record. The caller holds e.mu.
func (e *Emulator) logRefresh(token string) {
	if g := e.refresh[token]; e.journaling && g != nil {
		e.record(change{Refresh: &RefreshTokenState{token, g.userID, g.state.String(), g.legacy}})
	}
}

// logMint records a minted Sign-In Token. The caller holds e.mu.
func (e *Emulator) logMint(m mintRecord) {
	e.record(change{Mint: &SignInTokenState{m.id, m.userID, m.issuedAt, m.expires}})
}

// logClock records the clock's offset. The caller holds e.mu.
func (e *Emulator) logClock() {
	o := int64(e.offset)
	e.record(change{ClockOffset: &o})
}

// apply replays a change. The caller holds e.mu and reindexes afterwards.
func (e *Emulator) apply(c change) error {
	switch {
	case c.User != nil:
		u, err := newUser(*c.User)
		if err != nil {
			return err
		}
		if old := e.users[u.id]; old != nil {
			*old = *u
			return nil
		}
		e.users[u.id] = u
		e.order = append(e.order, u)
	case c.Access != nil:
		if c.Access.Token == "" {
			return errors.New("empty access token")
		}
		e.access[c.Access.Token] = &accessGrant{userID: c.Access.UserID, expires: c.Access.ExpiresAt}
	case c.AccessGone != "":
		delete(e.access, c.AccessGone)
	case c.Refresh != nil:
		s, ok := parseRefreshState(c.Refresh.State)
		if !ok || c.Refresh.Token == "" {
			return fmt.Errorf("refresh token with state %q", c.Refresh.State)
		}
		if g := e.refresh[c.Refresh.Token]; g != nil {
			g.userID, g.state, g.legacy = c.Refresh.UserID, s, c.Refresh.Legacy
			return nil
		}
		e.refresh[c.Refresh.Token] = &refreshGrant{userID: c.Refresh.UserID, state: s, legacy: c.Refresh.Legacy}
	case c.Mint != nil:
		e.remember(mintRecord{id: c.Mint.ID, userID: c.Mint.UserID, issuedAt: c.Mint.IssuedAt, expires: c.Mint.ExpiresAt})
	case c.ClockOffset != nil:
		if *c.ClockOffset < 0 {
			return errors.New("negative clock offset")
		}
		e.offset = time.Duration(*c.ClockOffset)
	case c.Reset:
		e.clearState()
	default:
		return errors.New("an empty change")
	}
	return nil
}

// LoadDir returns an emulator holding the state kept in dir by a [Dir]:
// the snapshot read as [LoadState] reads it, then the changes of the log
// that continues it. A directory without a snapshot is an error matching
// fs.ErrNotExist; a log that continues another snapshot (left by a crash
// while a new snapshot was written, whose changes that snapshot holds) is
// ignored. The state may be one written by [WriteStateFile] alone.
func LoadDir(dir string, opts ...Option) (*Emulator, error) {
	snapPath := filepath.Join(dir, SnapshotFile)
	f, err := os.Open(snapPath)
	if err != nil {
		return nil, fmt.Errorf("emulator: read state: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	e, err := LoadState(io.TeeReader(f, h), opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", snapPath, err)
	}
	// LoadState stops at the object's end; the hash covers the whole file.
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("emulator: read state: %w", err)
	}
	if err := e.replay(filepath.Join(dir, LogFile), hex.EncodeToString(h.Sum(nil))); err != nil {
		return nil, err
	}
	return e, nil
}

// replay applies the log at path if it continues the snapshot whose
// SHA-256 is snapshot.
func (e *Emulator) replay(path, snapshot string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: read state log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, maxLogLine)
	e.mu.Lock()
	defer e.mu.Unlock()
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		switch {
		case err == io.EOF:
			// The end, or a last line cut short: never acknowledged.
			return e.reindexLog(path)
		case errors.Is(err, bufio.ErrBufferFull):
			return fmt.Errorf("%w: %s: line %d is longer than %d bytes", ErrInvalidLog, path, n, maxLogLine)
		case err != nil:
			return fmt.Errorf("emulator: read state log: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if n == 1 {
			var h logHeader
			if err := dec.Decode(&h); err != nil || h.Format != logFormat {
				return fmt.Errorf("%w: %s: line 1 is not a log header", ErrInvalidLog, path)
			}
			if h.Snapshot != snapshot {
				return nil // continues another snapshot: its changes are in this one
			}
			continue
		}
		var c change
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("%w: %s: line %d: %v", ErrInvalidLog, path, n, err)
		}
		if err := e.apply(c); err != nil {
			return fmt.Errorf("%w: %s: line %d: %v", ErrInvalidLog, path, n, err)
		}
	}
}

// reindexLog reindexes after a replay. The caller holds e.mu.
func (e *Emulator) reindexLog(path string) error {
	if err := e.reindex(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidLog, path, err)
	}
	return nil
}

// Dir keeps an emulator's state in a directory, incrementally: each
// change the emulator makes is one line appended to the log (a few hundred
// bytes, whatever the state's size), and the log is folded into a new
// snapshot once it outgrows twice the last one, so that a change costs the
// same at any size. [Dir.Flush] writes the changes made so far and syncs
// them; call it before answering a request, so a client that saw an
// answer finds its effect after a restart. A Dir is safe for concurrent
// use.
type Dir struct {
	dir       string
	em        *Emulator
	mu        sync.Mutex
	log       *os.File
	logSize   int64
	snapSize  int64
	unwritten []byte // changes a failed write left; written first next time
}

// AttachDir makes dir (created 0700 if need be) keep em's state from now
// on: it writes em's whole state as the snapshot, replacing what dir held,
// and starts a new log that every later change of em goes to.
func AttachDir(dir string, em *Emulator) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("emulator: state directory: %w", err)
	}
	if _, err := em.signingKey(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	em.mu.Lock()
	em.journaling = true
	em.mu.Unlock()
	d := &Dir{dir: dir, em: em}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.compact(); err != nil {
		return nil, err
	}
	return d, nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.dir }

// Flush appends the changes made since the last flush to the log and
// syncs it, folding the log into a new snapshot when it has grown too
// large. After a failed write the changes stay queued for the next flush.
func (d *Dir) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.log == nil {
		return errors.New("emulator: state directory closed")
	}
	d.em.mu.Lock()
	d.unwritten = append(d.unwritten, d.em.pending...)
	d.em.pending = d.em.pending[:0]
	d.em.mu.Unlock()
	if len(d.unwritten) == 0 {
		return nil
	}
	if _, err := d.log.Write(d.unwritten); err != nil {
		d.log.Truncate(d.logSize) // no half-written line before the retry
		return fmt.Errorf("emulator: write state log: %w", err)
	}
	if err := d.log.Sync(); err != nil {
		d.log.Truncate(d.logSize)
		return fmt.Errorf("emulator: write state log: %w", err)
	}
	d.logSize += int64(len(d.unwritten))
	d.unwritten = d.unwritten[:0]
	if d.logSize > 2*d.snapSize+compactSlack {
		return d.compact()
	}
	return nil
}

// Close writes the whole state as a new snapshot (so the next start reads
// no log) and closes the log.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.log == nil {
		return nil
	}
	err := d.compact()
	if d.log != nil {
		err = errors.Join(err, d.log.Close())
		d.log = nil
	}
	return err
}

// compact writes the whole state as the snapshot and starts a new log that
// continues it. The caller holds d.mu.
func (d *Dir) compact() error {
	d.em.mu.Lock()
	st := d.em.export()
	d.em.pending = d.em.pending[:0]
	d.em.mu.Unlock()
	d.unwritten = d.unwritten[:0] // the snapshot holds them
	b, err := MarshalState(st)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(d.dir, SnapshotFile), b); err != nil {
		return fmt.Errorf("emulator: write state: %w", err)
	}
	sum := sha256.Sum256(b)
	header, err := json.Marshal(logHeader{Format: logFormat, Snapshot: hex.EncodeToString(sum[:])})
	if err != nil {
		return err
	}
	header = append(header, '\n')
	logPath := filepath.Join(d.dir, LogFile)
	if err := atomicfile.Write(logPath, header); err != nil {
		return fmt.Errorf("emulator: write state log: %w", err)
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("emulator: write state log: %w", err)
	}
	if d.log != nil {
		d.log.Close()
	}
	d.log, d.logSize, d.snapSize = f, int64(len(header)), int64(len(b))
	return nil
}
