// Package audit records who replayed, redrove or discarded what, and when:
// one JSON object per line in an append-only file, so that after an outage
// the team can tell which messages were sent again and by whom.
package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Entry is one audited action.
type Entry struct {
	// Time is when the action was taken (UTC).
	Time time.Time `json:"time"`
	// Actor is who took it: the name the client gave (X-Dletter-Actor, the
	// console's login name, the command's $USER), never a token.
	Actor string `json:"actor"`
	// Via is the surface: "api", "console" or "cli".
	Via string `json:"via"`
	// Remote is the client's address, when there is one.
	Remote string `json:"remote,omitempty"`
	// Action is replay, redrive, redrive-cancel, discard or import.
	Action string `json:"action"`
	// Target is an item id, a redrive id, or a filter in words.
	Target string `json:"target"`
	// Result is "ok", or what went wrong.
	Result string `json:"result"`
	// Count is the number of items affected, for bulk actions.
	Count int `json:"count,omitempty"`
}

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: closed")

// Log appends entries to a file. It is safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	now    func() time.Time
	closed bool
}

// Open opens (creating it and its directory) the audit log at path.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	return &Log{path: path, f: f, now: time.Now}, nil
}

// Record appends e, stamping Time when it is zero. Each entry is written
// with one write(2) and synced, so it survives a crash right after the
// action it records.
func (l *Log) Record(e Entry) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	if e.Actor == "" {
		e.Actor = "anonymous"
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: encode: %w", err)
	}
	line = append(line, '\n')
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("audit: write: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync: %w", err)
	}
	return nil
}

// tailBytes bounds how much of the file Recent reads.
const tailBytes = 1 << 20

// Recent returns up to n of the latest entries, newest first. It reads at
// most the last MiB of the file; a line it cannot decode is skipped.
func (l *Log) Recent(n int) ([]Entry, error) {
	if l == nil || n <= 0 {
		return nil, nil
	}
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	off := max(st.Size()-tailBytes, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("audit: read: %w", err)
	}
	lines := bytes.Split(buf, []byte("\n"))
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // the first line is cut
	}
	var out []Entry
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		var e Entry
		if len(lines[i]) == 0 || json.Unmarshal(lines[i], &e) != nil {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// Close closes the file. It is idempotent.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}
