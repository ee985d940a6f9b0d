package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/vitalsync/vitalsync/fsm"
)

// Source is a stream of report rows. Each checks the schema before the
// first row (a *SchemaError, or an error of the underlying store), then
// calls fn with every row in order; a malformed row comes with Row.Err set
// and the walk goes on. The *Row and its strings are valid only during the
// call. Each stops at fn's first error and returns it; it returns ctx.Err()
// once ctx is done. Each may be called again to read the rows again.
type Source interface {
	// Name names the source in messages ("reports.csv").
	Name() string
	Each(ctx context.Context, fn func(*Row) error) error
}

// checkEvery is how many rows pass between context checks.
const checkEvery = 4096

// bufSize is the read buffer of the file sources; a longer line is invalid.
const bufSize = 1 << 20

// CSVSource reads the report schema as CSV: a header row naming the
// columns (any order; unknown ones ignored; all but profile required),
// then one report a line. Fields may be quoted ("…", with "" for a quote),
// as sdk_status must be when it holds several flags; a field does not
// span lines.
type CSVSource struct {
	// Label names the source in messages.
	Label string
	// Open opens the file for each pass.
	Open func() (io.ReadCloser, error)
}

// Name returns the label.
func (s CSVSource) Name() string { return s.Label }

// Each implements Source.
func (s CSVSource) Each(ctx context.Context, fn func(*Row) error) error {
	return s.eachParallel(ctx, []func(*Row) error{fn})
}

// chunkSize is the block the CSV reader hands to a worker; a longer line
// is an invalid row.
const chunkSize = bufSize

// chunk is a block of whole lines, the first numbered start; long marks a
// line longer than chunkSize instead (data is empty).
type chunk struct {
	data  []byte
	start int64
	long  bool
	buf   *[]byte // returned to the pool when done
}

// eachParallel reads the header, then splits the file into blocks of whole
// lines and parses and hands them to fns, one goroutine per fn (the
// calling one when there is one fn). Each fn sees its rows in order; rows
// of different fns interleave.
func (s CSVSource) eachParallel(ctx context.Context, fns []func(*Row) error) error {
	rc, err := s.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	header, err := br.ReadSlice('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(header) > 0) {
		if errors.Is(err, io.EOF) {
			return &SchemaError{Source: s.Label, Err: ErrEmptySource}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return &SchemaError{Source: s.Label, Column: "(header longer than 64 KiB)", Err: ErrMissingColumn}
		}
		return err
	}
	header = bytes.TrimPrefix(header, []byte("\xef\xbb\xbf"))
	fields, _, ok := splitCSV(trimEOL(header), nil, nil)
	if !ok {
		return &SchemaError{Source: s.Label, Column: "(header)", Err: ErrMissingColumn}
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = string(f)
	}
	index, err := mapColumns(s.Label, names)
	if err != nil {
		return err
	}
	pool := make(chan *[]byte, 2*len(fns)+2)
	for range cap(pool) {
		b := make([]byte, chunkSize)
		pool <- &b
	}
	if len(fns) == 1 {
		p := &csvLines{index: index, ncols: len(names)}
		return readChunks(ctx, br, pool, func(c chunk) error {
			defer func() { pool <- c.buf }()
			return p.chunk(ctx, c, fns[0])
		})
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan chunk, len(fns))
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &csvLines{index: index, ncols: len(names)}
			for c := range work {
				if err := p.chunk(ctx, c, fn); err != nil {
					cancel(err)
				}
				pool <- c.buf
			}
		}()
	}
	err = readChunks(ctx, br, pool, func(c chunk) error {
		select {
		case work <- c:
			return nil
		case <-ctx.Done():
			pool <- c.buf
			return context.Cause(ctx)
		}
	})
	close(work)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// readChunks reads r in blocks from pool, cut after their last newline
// (the partial line moves to the next block), and sends each with the
// number of its first line; the header was line 1.
func readChunks(ctx context.Context, r io.Reader, pool chan *[]byte, send func(chunk) error) error {
	line := int64(2)
	buf := <-pool
	carry := 0
	for {
		if err := ctx.Err(); err != nil {
			pool <- buf
			return err
		}
		n, err := io.ReadFull(r, (*buf)[carry:])
		data := (*buf)[:carry+n]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if len(data) == 0 {
				pool <- buf
				return nil
			}
			return send(chunk{data: data, start: line, buf: buf})
		}
		if err != nil {
			pool <- buf
			return err
		}
		cut := bytes.LastIndexByte(data, '\n')
		if cut < 0 {
			// A line longer than a block: an invalid row; skip to its end.
			var rest []byte
			for {
				n, err := io.ReadFull(r, *buf)
				if i := bytes.IndexByte((*buf)[:n], '\n'); i >= 0 {
					rest = (*buf)[i+1 : n]
					break
				}
				if err != nil {
					rest = nil
					break
				}
			}
			next := <-pool
			carry = copy(*next, rest)
			if err := send(chunk{start: line, long: true, buf: buf}); err != nil {
				pool <- next
				return err
			}
			line++
			buf = next
			continue
		}
		next := <-pool
		carry = copy(*next, data[cut+1:])
		lines := int64(bytes.Count(data[:cut+1], []byte{'\n'}))
		if err := send(chunk{data: data[:cut+1], start: line, buf: buf}); err != nil {
			pool <- next
			return err
		}
		line += lines
		buf = next
	}
}

// csvLines parses the lines of CSV blocks into rows.
type csvLines struct {
	index   [numColumns]int
	ncols   int
	fields  [][]byte
	scratch []byte
	raw     [numColumns]string
	row     Row
}

// chunk parses c's lines and calls fn with each row.
func (p *csvLines) chunk(ctx context.Context, c chunk, fn func(*Row) error) error {
	if c.long {
		p.row = Row{Line: c.start, Err: rowErr(-1, "line longer than 1 MiB")}
		return fn(&p.row)
	}
	data, line := c.data, c.start
	for len(data) > 0 {
		var b []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			b, data = data[:i], data[i+1:]
		} else {
			b, data = data, nil
		}
		if line%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := p.line(trimEOL(b), line, fn); err != nil {
			return err
		}
		line++
	}
	return nil
}

// line parses one line (without its end) and calls fn with its row; a
// blank line is skipped.
func (p *csvLines) line(b []byte, line int64, fn func(*Row) error) error {
	if len(b) == 0 {
		return nil
	}
	row, raw := &p.row, &p.raw
	*row = Row{Line: line}
	var ok bool
	p.fields, p.scratch, ok = splitCSV(b, p.fields[:0], p.scratch[:0])
	switch {
	case !ok:
		row.Err = rowErr(-1, "unterminated quote")
	case len(p.fields) != p.ncols:
		if c := p.index[colInstallationID]; c < len(p.fields) {
			row.InstallationID = bstr(p.fields[c])
		}
		row.Err = rowErr(-1, "wrong number of fields")
	default:
		for i, col := range p.index {
			raw[i] = ""
			if col >= 0 {
				raw[i] = bstr(p.fields[col])
			}
		}
		row.Err = parseFields(raw, row)
	}
	return fn(row)
}

// bstr views b as a string without copying; b must not change while the
// string is in use (for one callback).
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// splitCSV splits one CSV line into fields. Unquoted fields are views of
// line; quoted ones with doubled quotes are unescaped into scratch. It
// returns false for an unterminated quote.
func splitCSV(line []byte, fields [][]byte, scratch []byte) ([][]byte, []byte, bool) {
	// Reserve scratch up front so that views into it stay valid.
	if cap(scratch) < len(line) {
		scratch = make([]byte, 0, len(line))
	}
	for {
		if len(line) > 0 && line[0] == '"' {
			line = line[1:]
			start := len(scratch)
			for {
				i := bytes.IndexByte(line, '"')
				if i < 0 {
					return fields, scratch, false
				}
				if i+1 < len(line) && line[i+1] == '"' {
					scratch = append(scratch, line[:i+1]...)
					line = line[i+2:]
					continue
				}
				if start == len(scratch) {
					fields = append(fields, line[:i]) // no escapes: a view
				} else {
					scratch = append(scratch, line[:i]...)
					fields = append(fields, scratch[start:len(scratch):len(scratch)])
				}
				line = line[i+1:]
				break
			}
			if len(line) == 0 {
				return fields, scratch, true
			}
			if line[0] != ',' {
				return fields, scratch, false
			}
			line = line[1:]
			continue
		}
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			return append(fields, line), scratch, true
		}
		fields = append(fields, line[:i])
		line = line[i+1:]
	}
}

// mapColumns maps each schema column to its position among names (-1:
// absent), refusing a missing required column or a repeated one.
func mapColumns(src string, names []string) ([numColumns]int, error) {
	var index [numColumns]int
	for i := range index {
		index[i] = -1
	}
	for pos, n := range names {
		n = strings.TrimSpace(n)
		for i, c := range columns {
			if n == c {
				if index[i] >= 0 {
					return index, &SchemaError{Source: src, Column: c, Err: ErrDuplicateColumn}
				}
				index[i] = pos
			}
		}
	}
	for i, pos := range index {
		if pos < 0 && !optional(i) {
			return index, &SchemaError{Source: src, Column: columns[i], Err: ErrMissingColumn}
		}
	}
	return index, nil
}

// JSONLSource reads the report schema as JSON Lines: one object a line,
// keys named as the columns, sdk_status an array of flag names and
// app_signed_in a boolean. Unknown keys are ignored. Required keys:
// installation_id, platform, sdk_version, app_signed_in, sdk_status,
// reported_at and mapped_vital_user_id; an absent other key is empty. The
// first object must hold every required key (a schema error); a later one
// without them is an invalid row.
type JSONLSource struct {
	Label string
	Open  func() (io.ReadCloser, error)
}

// Name returns the label.
func (s JSONLSource) Name() string { return s.Label }

// jsonRow is one JSONL line. Pointers tell absent keys from empty values.
type jsonRow struct {
	InstallationID    *string   `json:"installation_id"`
	Platform          *string   `json:"platform"`
	SDKVersion        *string   `json:"sdk_version"`
	Profile           *string   `json:"profile"`
	AppSignedIn       *bool     `json:"app_signed_in"`
	AppUserID         *string   `json:"app_user_id"`
	AppVitalUserID    *string   `json:"app_vital_user_id"`
	AppEnvironment    *string   `json:"app_environment"`
	AppRegion         *string   `json:"app_region"`
	SDKStatus         *[]string `json:"sdk_status"`
	SDKCurrentUserID  *string   `json:"sdk_current_user_id"`
	SDKEnvironment    *string   `json:"sdk_environment"`
	SDKRegion         *string   `json:"sdk_region"`
	LastObserved      *string   `json:"last_observed"`
	LastError         *string   `json:"last_error"`
	NextAttemptAt     *string   `json:"next_attempt_at"`
	ReportedAt        *string   `json:"reported_at"`
	MappedVitalUserID *string   `json:"mapped_vital_user_id"`
}

// Each implements Source.
func (s JSONLSource) Each(ctx context.Context, fn func(*Row) error) error {
	rc, err := s.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, bufSize)
	var (
		raw    [numColumns]string
		row    Row
		status []byte
	)
	line := int64(0)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			if line == 0 {
				return &SchemaError{Source: s.Label, Err: ErrEmptySource}
			}
			return nil
		}
		line++
		if line%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row = Row{Line: line}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			row.Err = rowErr(-1, "line longer than 1 MiB")
		case err != nil && !errors.Is(err, io.EOF):
			return err
		default:
			if line == 1 {
				b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a byte-order mark, as CSV's
			}
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				continue
			}
			if !utf8.Valid(b) {
				// encoding/json would turn the bytes into U+FFFD: name the
				// key whose value holds them, as the other sources do.
				row.InstallationID, row.Err = invalidUTF8Key(b)
				break
			}
			var jr jsonRow
			if err := json.Unmarshal(b, &jr); err != nil {
				var ute *json.UnmarshalTypeError
				if errors.As(err, &ute) && ute.Field != "" {
					row.Err = &RowError{Column: ute.Field, Reason: "wrong type"}
				} else {
					row.Err = rowErr(-1, "not a JSON object")
				}
				break
			}
			ptrs := [numColumns]*string{jr.InstallationID, jr.Platform, jr.SDKVersion, jr.Profile, nil,
				jr.AppUserID, jr.AppVitalUserID, jr.AppEnvironment, jr.AppRegion, nil, jr.SDKCurrentUserID,
				jr.SDKEnvironment, jr.SDKRegion, jr.LastObserved, jr.LastError, jr.NextAttemptAt,
				jr.ReportedAt, jr.MappedVitalUserID}
			missing := -1
			for i, p := range ptrs {
				raw[i] = ""
				if p != nil {
					raw[i] = *p
				} else if jsonRequired(i) && missing < 0 {
					missing = i
				}
			}
			if jr.AppSignedIn == nil && missing < 0 {
				missing = colAppSignedIn
			} else if jr.AppSignedIn != nil && *jr.AppSignedIn {
				raw[colAppSignedIn] = "true"
			}
			if jr.SDKStatus == nil && missing < 0 {
				missing = colSDKStatus
			} else if jr.SDKStatus != nil {
				status = status[:0]
				for i, f := range *jr.SDKStatus {
					if _, ok := fsm.ParseFlag(f); !ok || strings.Contains(f, ",") {
						status = append(status[:0], '?') // an unknown flag
						break
					}
					if i > 0 {
						status = append(status, ',')
					}
					status = append(status, f...)
				}
				raw[colSDKStatus] = string(status)
			}
			if missing >= 0 {
				if line == 1 {
					return &SchemaError{Source: s.Label, Column: columns[missing], Err: ErrMissingColumn}
				}
				row.InstallationID = raw[colInstallationID]
				row.Err = rowErr(missing, "missing")
				break
			}
			row.Err = parseFields(&raw, &row)
		}
		if err := fn(&row); err != nil {
			return err
		}
	}
}

// invalidUTF8Key is the row error of a JSONL line that is not UTF-8: the
// column whose value holds the bad bytes, when the line is an object, with
// the row's installation ID when that one is clean (as the other sources
// name it).
func invalidUTF8Key(b []byte) (string, error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return "", rowErr(-1, "invalid UTF-8")
	}
	id := ""
	if v, ok := m[columns[colInstallationID]]; ok && utf8.Valid(v) {
		if json.Unmarshal(v, &id) != nil || !cleanText(id) {
			id = ""
		}
	}
	for i, c := range columns {
		if v, ok := m[c]; ok && !utf8.Valid(v) {
			if i == colInstallationID {
				id = ""
			}
			return id, rowErr(i, "holds a control character or invalid UTF-8")
		}
	}
	return id, rowErr(-1, "invalid UTF-8")
}

// RecordSep separates the fields of a record (RecordSource): the ASCII
// unit separator, which IDs cannot hold.
const RecordSep = '\x1f'

// RecordSource adapts a store that yields each row as one record: the
// schema's fields in Columns order, joined by RecordSep (sdk_status as
// comma-separated flag names, times in RFC 3339, or decimal Unix
// nanoseconds with UnixNanos). adapters/store/sqlite's and adapters/store/postgres's
// EachReportRecord have this shape. Records checks its own schema before the first record; the
// record is valid only during fn.
type RecordSource struct {
	Label string
	// UnixNanos: the time fields are decimal Unix nanoseconds.
	UnixNanos bool
	// Unique: the store's key makes every record's installation_id
	// unique (adapters/store/sqlite's and adapters/store/postgres's reports), so the
	// audit keeps no set of the installations it saw.
	Unique  bool
	Records func(ctx context.Context, fn func(record string) error) error
}

// Name returns the label.
func (s RecordSource) Name() string { return s.Label }

func (s RecordSource) uniqueIDs() bool { return s.Unique }

// Each implements Source.
func (s RecordSource) Each(ctx context.Context, fn func(*Row) error) error {
	var (
		row Row
		n   int64
	)
	return s.Records(ctx, func(rec string) error {
		n++
		parseRecord(rec, n, s.UnixNanos, &row)
		return fn(&row)
	})
}

// parseRecord fills row from one record, the n-th.
// The fields' text is kept in an array on the stack, where storing a
// string costs no write barrier.
func parseRecord(rec string, n int64, unixNanos bool, row *Row) {
	var raw [numColumns]string
	*row = Row{Line: n}
	i := 0
	for ; i < numColumns-1; i++ {
		j := strings.IndexByte(rec, RecordSep)
		if j < 0 {
			break
		}
		raw[i], rec = rec[:j], rec[j+1:]
	}
	if i != numColumns-1 || strings.IndexByte(rec, RecordSep) >= 0 {
		row.InstallationID = raw[colInstallationID]
		if i == 0 {
			row.InstallationID = ""
		}
		row.Err = rowErr(-1, "wrong number of fields")
		return
	}
	raw[i] = rec
	row.Err = parseFieldsIn(&raw, row, unixNanos)
}

// parseNanos parses decimal Unix nanoseconds ("" is the zero time).
func parseNanos(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 19 {
		return time.Time{}, false
	}
	n, ok := digits64(s)
	if !ok {
		return time.Time{}, false
	}
	if neg {
		n = -n
	}
	return time.Unix(0, n).UTC(), true
}

func digits64(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n >= 0
}

// recordChunk is the block of length-prefixed records one worker parses.
const recordChunk = 256 << 10

// eachParallel copies the store's records into blocks (each record
// prefixed by its length) on the store's goroutine, and parses and plans
// the blocks on one goroutine per fn, so that reading the store and
// planning overlap.
func (s RecordSource) eachParallel(ctx context.Context, fns []func(*Row) error) error {
	if len(fns) == 1 {
		return s.Each(ctx, fns[0])
	}
	type block struct {
		data  []byte
		start int64
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pool := make(chan []byte, 2*len(fns)+2)
	for range cap(pool) {
		pool <- make([]byte, 0, recordChunk)
	}
	work := make(chan block, len(fns))
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var row Row
			for b := range work {
				data, n := b.data, b.start
				for len(data) >= 4 && context.Cause(ctx) == nil {
					size := int(data[0]) | int(data[1])<<8 | int(data[2])<<16 | int(data[3])<<24
					rec := bstr(data[4 : 4+size])
					data = data[4+size:]
					parseRecord(rec, n, s.UnixNanos, &row)
					n++
					if err := fn(&row); err != nil {
						cancel(err)
					}
				}
				pool <- b.data[:0]
			}
		}()
	}
	var (
		buf   = <-pool
		start = int64(1)
		n     = int64(0)
	)
	send := func() error {
		select {
		case work <- block{data: buf, start: start}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		start = n + 1
		select {
		case buf = <-pool:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		return nil
	}
	err := s.Records(ctx, func(rec string) error {
		if len(buf) > 0 && len(buf)+4+len(rec) > cap(buf) {
			if err := send(); err != nil {
				return err
			}
		}
		size := len(rec)
		buf = append(buf, byte(size), byte(size>>8), byte(size>>16), byte(size>>24))
		buf = append(buf, rec...)
		n++
		return nil
	})
	if err == nil && len(buf) > 0 {
		err = send()
	}
	close(work)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// jsonRequired reports whether a JSONL object must hold a column's key
// (app_signed_in and sdk_status are checked apart).
func jsonRequired(col int) bool {
	switch col {
	case colInstallationID, colPlatform, colSDKVersion, colReportedAt, colMappedVitalUserID:
		return true
	}
	return false
}
