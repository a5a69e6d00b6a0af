package dletter

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"

	"github.com/dletter/dletter/internal/checkpoint"
	"github.com/dletter/dletter/internal/linereader"
)

// Kind selects one of a Logger's two logs.
type Kind int

const (
	// RetryLog holds the items Replay will deliver: the active retry file and
	// the rotated files, less what Replay already consumed.
	RetryLog Kind = iota
	// PermanentLog holds the items that exhausted their retry budget or were
	// logged with LogPermanent.
	PermanentLog
)

// Order is the order in which Items yields.
type Order int

const (
	// OldestFirst yields items in the order they were logged.
	OldestFirst Order = iota
	// NewestFirst yields the most recently logged item first.
	NewestFirst
)

// Item is one item found by Items, decoded from its line.
type Item struct {
	ID           string     // stays the same when Replay re-logs the item ("" in lines without one)
	Timestamp    int64      // unix seconds of the latest failure
	FirstFailure int64      // unix seconds of the first failure
	Attempt      int        // failures so far (0 when the line has none)
	Reason       string     // error text of the latest failure
	Payload      RawPayload // the item's JSON (a copy)
	File         string     // the file holding the line
	Line         int64      // 1-based line number in File
}

// Stats summarises what a Logger holds on disk.
type Stats struct {
	Pending     int64 // items in the retry log not yet consumed by Replay
	Permanent   int64 // items in the permanent-failure log
	Quarantined int64 // lines in the quarantine file
	Dropped     int64 // items deleted by WithLossyRetention since New
	Bytes       int64 // size of every file of both logs and the quarantine file
	Backups     int   // rotated files of both logs
	// SetAside counts rotated files Replay could not read to their end (a
	// corrupt gzip stream, an I/O error), renamed "<name>.broken" and kept
	// for inspection; their items after the damage are not replayed.
	SetAside int
}

// source is one file of a log, read from line skip on, up to limit bytes.
type source struct {
	path  string
	gz    bool
	skip  uint64
	limit int64
}

// sources lists the files of one log, oldest first: rotated files (with
// their replay checkpoint for the retry log) and then the active file, read
// up to the size it has now.
func (l *Logger) sources(kind Kind) ([]source, error) {
	lf := l.file(kind)
	bs, err := lf.fam.list()
	if err != nil {
		return nil, err
	}
	var out []source
	for _, b := range bs {
		s := source{path: b.path, gz: b.gz}
		if kind == RetryLog {
			if s.skip, err = checkpoint.Read(b.statePath()); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	if size := lf.app.Size(); size > 0 {
		out = append(out, source{path: lf.fam.active, limit: size})
	}
	return out, nil
}

// Items returns an iterator over the items of one log without consuming
// them, oldest or newest first. Lines that do not decode are skipped (Replay
// quarantines them). The iterator reads the files as they are when each is
// opened; it may run concurrently with Log and Replay. Newest-first reads
// each file's line positions before yielding, and holds a compressed file's
// decompressed lines in memory while it yields them.
func (l *Logger) Items(kind Kind, order Order) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		if l.closed.Load() {
			yield(Item{}, ErrClosed)
			return
		}
		srcs, err := l.sources(kind)
		if err != nil {
			yield(Item{}, err)
			return
		}
		if order == NewestFirst {
			slices.Reverse(srcs)
		}
		for _, s := range srcs {
			if !s.items(order, yield) {
				return
			}
		}
	}
}

// Count returns how many items one log holds (see Items): the lines that
// decode, less what Replay consumed. It reads no file: the counts are taken
// once by New and kept up to date by Log, LogPermanent, Replay and
// retention, so it costs two atomic loads. While Log or Replay runs, it may
// lag them by the items being written.
func (l *Logger) Count(kind Kind) (int64, error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	return l.file(kind).items.Load(), nil
}

// Stats reports the items and bytes of both logs and the quarantine file.
// The counts of items and quarantined lines are kept in memory (see Count);
// the rest costs one directory listing and a stat of each rotated file, and
// reads no file's content, however many items the logs hold.
func (l *Logger) Stats() (Stats, error) {
	if l.closed.Load() {
		return Stats{}, ErrClosed
	}
	st := Stats{
		Pending:     l.retry.items.Load(),
		Permanent:   l.perm.items.Load(),
		Quarantined: l.quar.lines.Load(),
		Dropped:     l.dropped.Load(),
	}
	for _, lf := range []*logFile{l.retry, l.perm} {
		bs, err := lf.fam.list()
		if err != nil {
			return st, err
		}
		st.Backups += len(bs)
		for _, b := range bs {
			if fi, err := os.Stat(b.path); err == nil {
				st.Bytes += fi.Size()
			}
		}
		st.Bytes += lf.app.Size()
	}
	if fi, err := os.Stat(l.quar.path); err == nil {
		st.Bytes += fi.Size()
	}
	var err error
	st.SetAside, err = l.countSetAside()
	return st, err
}

// countSetAside counts the ".broken" rotated files of both logs.
func (l *Logger) countSetAside() (int, error) {
	entries, err := os.ReadDir(l.retry.fam.dir)
	if err != nil {
		return 0, fmt.Errorf("dletter: list %s: %w", l.retry.fam.dir, err)
	}
	n := 0
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), brokenSuffix)
		if !ok {
			continue
		}
		for _, f := range []family{l.retry.fam, l.perm.fam} {
			if _, ours := f.parse(name); ours {
				n++
			}
		}
	}
	return n, nil
}

// open opens the source, following a rotated file that was compressed since
// it was listed, and reporting (nil, nil) for one that was consumed.
func (s *source) open() (*lineFile, error) {
	lf, err := openLines(s.path, s.gz, s.limit)
	if errors.Is(err, os.ErrNotExist) && !s.gz && s.limit == 0 {
		s.path, s.gz = s.path+gzExt, true
		lf, err = openLines(s.path, true, 0)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return lf, err
}

// scan calls fn with each decodable line after the checkpoint, its 1-based
// line number and offset, until fn returns false.
func (s *source) scan(fn func(line []byte, num, off int64) bool) error {
	lf, err := s.open()
	if lf == nil || err != nil {
		return err
	}
	defer lf.Close()
	for {
		line, err := lf.Next()
		if err == io.EOF || (s.limit > 0 && errors.Is(err, linereader.ErrUnterminated)) {
			return nil
		}
		if err != nil && !errors.Is(err, linereader.ErrUnterminated) {
			return err
		}
		if uint64(lf.Lines()) <= s.skip {
			continue
		}
		if _, derr := decodeLine(line); derr != nil {
			continue
		}
		if !fn(line, lf.Lines(), lf.Offset()) {
			return nil
		}
	}
}

// items yields the source's items in order; it returns false when yield
// asked to stop.
func (s *source) items(order Order, yield func(Item, error) bool) bool {
	if order == OldestFirst {
		stopped := false
		err := s.scan(func(line []byte, num, _ int64) bool {
			if !yield(s.item(line, num), nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil {
			return yield(Item{}, err)
		}
		return !stopped
	}
	type pos struct {
		num, off, n int64 // off is in the file, or in blob for a compressed file
	}
	var ps []pos
	var blob []byte // a compressed file's lines: it cannot be read at an offset
	err := s.scan(func(line []byte, num, off int64) bool {
		if s.gz {
			off = int64(len(blob))
			blob = append(blob, line...)
		}
		ps = append(ps, pos{num: num, off: off, n: int64(len(line))})
		return true
	})
	if err != nil {
		return yield(Item{}, err)
	}
	var f *os.File
	if !s.gz && len(ps) > 0 {
		if f, err = os.Open(s.path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return true // consumed meanwhile
			}
			return yield(Item{}, err)
		}
		defer f.Close()
	}
	var buf []byte
	for i := len(ps) - 1; i >= 0; i-- {
		p := ps[i]
		var line []byte
		if f != nil {
			buf = slices.Grow(buf[:0], int(p.n))[:p.n]
			if _, err := f.ReadAt(buf, p.off); err != nil {
				return yield(Item{}, err)
			}
			line = buf
		} else {
			line = blob[p.off : p.off+p.n]
		}
		if !yield(s.item(line, p.num), nil) {
			return false
		}
	}
	return true
}

// item decodes a line already known to decode.
func (s *source) item(line []byte, num int64) Item {
	rec, _ := decodeLine(line)
	return Item{
		ID:           rec.idString(),
		Timestamp:    rec.ts,
		FirstFailure: rec.firstFailure(),
		Attempt:      rec.attempt,
		Reason:       rec.reasonString(),
		Payload:      slices.Clone(RawPayload(rec.payload)),
		File:         s.path,
		Line:         num,
	}
}
