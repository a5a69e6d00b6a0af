// Package audit records who replayed, redrove, discarded or imported what,
// and when: one JSON object per line in an append-only file, so that after
// an outage the team can tell which messages were sent again and by whom.
//
// An action is written in up to three kinds of lines tied by their Op: its
// start, before it changes anything (Phase "start"), one line per item it
// touched (Phase "item", Target the item's id), and its outcome (no Phase),
// with the counts. A start without an outcome is an action still running,
// or one the process did not live to finish.
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
	// Result is "ok", "started" (a start line), or what went wrong:
	// "partial: 2 of 5 failed", "failed: ...", "cancelled after 3 of 12";
	// Outcome classifies it.
	Result string `json:"result"`
	// Count is the number of items affected, for bulk actions.
	Count int `json:"count,omitempty"`
	// Failed is how many of Count failed.
	Failed int `json:"failed,omitempty"`
	// Op ties together the lines of one action.
	Op string `json:"op,omitempty"`
	// Phase is PhaseStart or PhaseItem; "" for an outcome.
	Phase string `json:"phase,omitempty"`
}

// Phases of the lines of an action (see the package documentation).
const (
	PhaseStart = "start"
	PhaseItem  = "item"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: closed")

// Log appends entries to a file. It is safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	path   string
	f      *os.File
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
	return &Log{path: path, f: f}, nil
}

// Record appends e, stamping Time when it is zero. Each entry is written
// with one write(2) and synced, so it survives a crash right after the
// action it records.
func (l *Log) Record(e Entry) error { return l.RecordAll([]Entry{e}) }

// RecordAll appends entries with one write(2) and one sync, stamping the
// Time of those that have none.
func (l *Log) RecordAll(entries []Entry) error {
	if l == nil || len(entries) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	now := time.Now().UTC()
	var buf []byte
	for _, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		if e.Actor == "" {
			e.Actor = "anonymous"
		}
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("audit: encode: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if _, err := l.f.Write(buf); err != nil {
		return fmt.Errorf("audit: write: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync: %w", err)
	}
	return nil
}

// blockBytes is how much of the file Recent reads at a time.
const blockBytes = 1 << 20

// maxScan bounds how much of the file Recent reads (a variable for tests).
var maxScan int64 = 32 << 20

// Recent returns up to n of the latest actions, newest first: outcomes, and
// the starts of actions that have none yet; item lines are left out. It
// reads the file backwards, at most its last 32 MiB (item lines of large
// bulk actions can be many); a line it cannot decode is skipped.
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
	var out []Entry
	ended := make(map[string]bool) // ops whose outcome was seen
	keep := func(line []byte) bool {
		var e Entry
		if len(line) == 0 || json.Unmarshal(line, &e) != nil {
			return true
		}
		switch {
		case e.Phase == PhaseItem:
		case e.Phase == PhaseStart && ended[e.Op]:
		default:
			if e.Phase == "" && e.Op != "" {
				ended[e.Op] = true
			}
			out = append(out, e)
		}
		return len(out) < n
	}
	if err := eachLineBackwards(f, st.Size(), keep); err != nil {
		return out, err
	}
	return out, nil
}

// eachLineBackwards calls fn with the lines of f's first size bytes, last
// first, reading at most maxScan bytes, until fn returns false. A line cut
// by the scan's limit is not passed.
func eachLineBackwards(f *os.File, size int64, fn func([]byte) bool) error {
	var rest []byte // the start of a line whose beginning is not read yet
	floor := max(size-maxScan, 0)
	for end := size; end > floor; {
		start := max(end-blockBytes, floor)
		block := make([]byte, end-start, int(end-start)+len(rest))
		if _, err := f.ReadAt(block, start); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("audit: read: %w", err)
		}
		block = append(block, rest...)
		end = start
		for {
			i := bytes.LastIndexByte(block, '\n')
			if i < 0 {
				break
			}
			if !fn(block[i+1:]) {
				return nil
			}
			block = block[:i]
		}
		rest = block
		if start == 0 {
			fn(rest)
			return nil
		}
	}
	return nil
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
