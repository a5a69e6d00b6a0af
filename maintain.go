package dletter

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dletter/dletter/internal/checkpoint"
	"github.com/dletter/dletter/internal/fsutil"
)

// maintain runs the background work on rotated files after each rotation:
// finishing what a crash interrupted, lossy retention when enabled, and
// compression. Each step on a file holds replaySem, so it never races a
// Replay.
func (l *Logger) maintain() {
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		}
		for _, lf := range []*logFile{l.retry, l.perm} {
			if !l.maintainLog(lf) {
				return
			}
		}
	}
}

// holdFiles takes replaySem, or reports false when the Logger is closing.
func (l *Logger) holdFiles() bool {
	select {
	case l.replaySem <- struct{}{}:
		return true
	case <-l.stop:
		return false
	}
}

func (l *Logger) releaseFiles() { <-l.replaySem }

// maintainLog does one round of background work on lf's rotated files. It
// returns false when the Logger is closing.
func (l *Logger) maintainLog(lf *logFile) bool {
	if !l.holdFiles() {
		return false
	}
	l.cleanup(lf.fam)
	bs, err := lf.fam.list()
	if err == nil && l.cfg.lossy {
		bs = l.enforceRetention(lf, bs)
	}
	l.releaseFiles()
	if err != nil {
		l.log.Error("dletter: background work: list rotated files", "err", err)
		return true
	}
	if !l.cfg.compress {
		return true
	}
	for _, b := range bs {
		if b.gz {
			continue
		}
		if !l.holdFiles() {
			return false
		}
		if exists(b.path) {
			if err := compress(b); err != nil {
				l.log.Error("dletter: compress rotated file", "file", b.path, "err", err)
			}
		}
		l.releaseFiles()
	}
	return true
}

// compress replaces a plain rotated file with its gzip-compressed copy:
// the copy is written under a temporary name, synced and renamed, then the
// plain file is removed, then its state file is moved. A crash at any step
// leaves either the plain file (the copy is ignored) or a complete copy.
func compress(b backup) error {
	src, err := os.Open(b.path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := b.path + gzExt
	err = fsutil.WriteFileAtomic(dst, filePerm, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		if _, err := io.Copy(zw, src); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return err
	}
	if err := fsutil.RemoveDurable(b.path); err != nil {
		return err
	}
	if exists(b.statePath()) {
		return fsutil.RenameDurable(b.statePath(), dst+stateSuffix)
	}
	return nil
}

// cleanup removes what an interrupted compression or replay left: temporary
// compressed copies and sorted deferral files, compressed copies whose plain file still exists, and
// state files of consumed backups. It finishes a state move that a
// compression did not get to.
func (l *Logger) cleanup(f family) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, fsutil.TempSuffix):
			// An unfinished compressed copy, or deferral file rewrite.
			if _, ok := f.parse(strings.TrimSuffix(name, fsutil.TempSuffix)); ok {
				l.removeLeftover(filepath.Join(f.dir, name))
			}
		case strings.HasSuffix(name, stateSuffix):
			b, ok := f.parse(strings.TrimSuffix(name, stateSuffix))
			if !ok || exists(b.path) {
				continue
			}
			if !b.gz && exists(b.path+gzExt) {
				if err := fsutil.RenameDurable(b.statePath(), b.path+gzExt+stateSuffix); err != nil {
					l.log.Error("dletter: move replay state", "file", b.statePath(), "err", err)
				}
				continue
			}
			l.removeLeftover(b.statePath())
		default:
			b, ok := f.parse(name)
			if ok && b.gz && exists(b.plainPath()) {
				l.removeLeftover(b.path) // an unfinished copy; the plain file is whole
				l.removeLeftover(b.statePath())
			}
		}
	}
}

func (l *Logger) removeLeftover(path string) {
	if err := fsutil.RemoveDurable(path); err != nil {
		l.log.Error("dletter: remove leftover file", "file", path, "err", err)
	}
}

// enforceRetention deletes rotated files beyond MaxBackups or older than
// MaxAge, counting and reporting every item they still held. Only with
// WithLossyRetention(true). It returns the files kept.
func (l *Logger) enforceRetention(lf *logFile, bs []backup) []backup {
	var drop []backup
	if days := l.cfg.maxAgeDays; days > 0 {
		cutoff := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
		for len(bs) > 0 && bs[0].t.Before(cutoff) {
			drop, bs = append(drop, bs[0]), bs[1:]
		}
	}
	if n := l.cfg.maxBackups; n > 0 && len(bs) > n {
		drop, bs = append(drop, bs[:len(bs)-n]...), bs[len(bs)-n:]
	}
	for _, b := range drop {
		items, err := countItems(b, lf == l.retry)
		if err != nil {
			l.log.Error("dletter: retention: count items before dropping; dropping anyway as configured",
				"file", b.path, "err", err)
		}
		if !b.gz {
			l.removeLeftover(b.path + gzExt) // an unfinished compressed copy
		}
		if err := fsutil.RemoveDurable(b.path); err != nil {
			l.log.Error("dletter: retention: remove", "file", b.path, "err", err)
			continue
		}
		_ = fsutil.RemoveDurable(b.statePath())
		lf.items.Add(-items)
		l.dropped.Add(items)
		l.log.Warn("dletter: retention dropped items that were never replayed (WithLossyRetention)",
			"file", b.path, "items", items, "dropped_total", l.dropped.Load())
	}
	return bs
}

// countItems counts the items of b (the lines that decode) after its replay
// checkpoint (when withCheckpoint), as Count does.
func countItems(b backup, withCheckpoint bool) (int64, error) {
	s := source{path: b.path, gz: b.gz}
	if withCheckpoint {
		var err error
		if s.skip, err = checkpoint.Read(b.statePath()); err != nil {
			return 0, err
		}
	}
	var n int64
	if err := s.scan(func([]byte, int64, int64) bool { n++; return true }); err != nil {
		return n, fmt.Errorf("dletter: count items in %s: %w", b.path, err)
	}
	return n, nil
}
