package dletter

import (
	"errors"
	"io"
	"os"

	"github.com/dletter/dletter/internal/linereader"
)

// countAtOpen counts, once, the items of both logs and the lines of the
// quarantine file; from then on every write, Replay and retention keeps the
// counts up to date, so that Count and Stats read no file. It runs in New,
// before anything else can touch the files. A file that cannot be read to
// its end counts the items before the damage: those are the ones Replay
// will deliver before it sets the file aside.
func (l *Logger) countAtOpen() error {
	for _, k := range []Kind{RetryLog, PermanentLog} {
		srcs, err := l.sources(k)
		if err != nil {
			return err
		}
		var n int64
		for _, s := range srcs {
			err := s.scan(func([]byte, int64, int64) bool { n++; return true })
			if err != nil {
				l.log.Warn("dletter: a file could not be read to its end; its items after the damage are not counted",
					"file", s.path, "err", err)
			}
		}
		l.file(k).items.Store(n)
	}
	n, err := countLines(l.quar.path)
	if err != nil {
		return err
	}
	l.quar.lines.Store(n)
	return nil
}

// file returns the log of kind k.
func (l *Logger) file(k Kind) *logFile {
	if k == PermanentLog {
		return l.perm
	}
	return l.retry
}

// countLines counts the lines of a file; a missing file has none.
func countLines(path string) (int64, error) {
	lf, err := openLines(path, false, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer lf.Close()
	var n int64
	for {
		_, err := lf.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil && !errors.Is(err, linereader.ErrUnterminated) {
			return n, err
		}
		n++
	}
}
