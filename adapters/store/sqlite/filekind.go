package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
)

// FileKind is what a file holds, as far as its first bytes tell: a command
// checks each input file's kind before it reads it, so that a file given
// to the wrong flag is refused naming the right one instead of being read
// as garbage.
type FileKind string

// The kinds SniffFile tells apart.
const (
	FileEmpty   FileKind = "empty"
	FileSQLite  FileKind = "a SQLite database"
	FileCSV     FileKind = "CSV"
	FileJSONL   FileKind = "JSON Lines"
	FileJSONDoc FileKind = "one JSON document"
	FileOther   FileKind = "neither CSV, JSON nor SQLite"
)

// SniffFile reads the start of path and says what it holds. A missing or
// unreadable file is the open's error.
func SniffFile(path string) (FileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	head, err := r.Peek(16)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return "", err
	}
	if bytes.HasPrefix(head, []byte("SQLite format 3\x00")) {
		return FileSQLite, nil
	}
	first, err := r.ReadSlice('\n')
	long := errors.Is(err, bufio.ErrBufferFull) // a first line longer than the buffer
	if err != nil && err != io.EOF && !long {
		return "", err
	}
	line := bytes.TrimSpace(first)
	switch {
	case len(line) == 0 && len(bytes.TrimSpace(head)) == 0:
		return FileEmpty, nil
	case line[0] == '{' && (long || json.Valid(line)):
		// A line too long to check is left to the JSON Lines reader.
		return FileJSONL, nil
	case line[0] == '{' || line[0] == '[':
		return FileJSONDoc, nil
	case bytes.ContainsRune(line, ',') && !bytes.ContainsAny(line, "{}"):
		return FileCSV, nil
	}
	return FileOther, nil
}

// DeviceTableWithRows names a device table (an installation's launch
// state) that holds rows in the SQLite file at path, read without changing
// it; "" when none does, or when the file cannot be read as a database
// (the open that follows says why).
func DeviceTableWithRows(ctx context.Context, path string) string {
	ro, err := openReadOnly(path)
	if err != nil {
		return ""
	}
	defer ro.Close()
	for _, t := range kindTables[KindDevice] {
		var rows bool
		err := ro.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+quoteIdent(t)+")").Scan(&rows)
		if err == nil && rows {
			return t
		}
	}
	return ""
}
