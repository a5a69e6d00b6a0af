package dletter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// backupTimeFormat is the time in a rotated file's name, as go-dletter (and
// lumberjack, under it) writes it, in UTC.
const backupTimeFormat = "2006-01-02T15-04-05.000"

const (
	gzExt        = ".gz"
	stateSuffix  = "-state"
	brokenSuffix = ".broken" // a rotated file set aside by Replay
)

// family names the files of one log: the active file and its backups.
type family struct {
	dir    string
	active string // full path of the active file
	prefix string // base name without extension
	ext    string // extension, with its dot, or ""
}

func newFamily(path string) family {
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	return family{dir: filepath.Dir(path), active: path, prefix: base[:len(base)-len(ext)], ext: ext}
}

// backup is one rotated file.
type backup struct {
	path string
	t    time.Time // from the name
	gz   bool
}

// statePath returns the file holding the backup's replay checkpoint.
func (b backup) statePath() string { return b.path + stateSuffix }

// plainPath returns the backup's path without ".gz".
func (b backup) plainPath() string { return strings.TrimSuffix(b.path, gzExt) }

func (f family) name(t time.Time) string {
	return filepath.Join(f.dir, f.prefix+"-"+t.UTC().Format(backupTimeFormat)+f.ext)
}

// parse reports whether base is the name of one of this family's backups,
// and its time. Anything else in the directory (another log's files, state
// files, a user's "orders-foo.log") is not ours.
func (f family) parse(base string) (backup, bool) {
	gz := strings.HasSuffix(base, gzExt) && f.ext != gzExt
	name := base
	if gz {
		name = strings.TrimSuffix(base, gzExt)
	}
	if !strings.HasPrefix(name, f.prefix+"-") || !strings.HasSuffix(name, f.ext) {
		return backup{}, false
	}
	ts := name[len(f.prefix)+1 : len(name)-len(f.ext)]
	if len(ts) != len(backupTimeFormat) {
		return backup{}, false
	}
	t, err := time.Parse(backupTimeFormat, ts)
	if err != nil {
		return backup{}, false
	}
	return backup{path: filepath.Join(f.dir, base), t: t, gz: gz}, true
}

// list returns the family's backups in creation order (the time in their
// names; the modification time is not used). When a plain backup and its
// ".gz" both exist (a compression that did not finish), only the plain one is
// listed: it is complete, the compressed copy may not be.
func (f family) list() ([]backup, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("dletter: list %s: %w", f.dir, err)
	}
	var out []backup
	plain := map[string]bool{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if b, ok := f.parse(e.Name()); ok {
			out = append(out, b)
			if !b.gz {
				plain[b.path] = true
			}
		}
	}
	out = slices.DeleteFunc(out, func(b backup) bool { return b.gz && plain[b.plainPath()] })
	slices.SortFunc(out, func(a, b backup) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	return out, nil
}

// nextName returns a backup name for a rotation at now that sorts after
// every existing backup and is not taken, plain or compressed: rotations in
// the same millisecond (or after the clock stepped back) take the next free
// millisecond, so names keep go-dletter's format and never collide.
func (f family) nextName(now time.Time, after time.Time) (string, time.Time, error) {
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(after) {
		t = after.Add(time.Millisecond)
	}
	for range 100000 {
		p := f.name(t)
		if !exists(p) && !exists(p+gzExt) {
			return p, t, nil
		}
		t = t.Add(time.Millisecond)
	}
	return "", time.Time{}, errors.New("dletter: no free backup name")
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// latest returns the time of the newest backup, or the zero time.
func latest(bs []backup) time.Time {
	if len(bs) == 0 {
		return time.Time{}
	}
	return bs[len(bs)-1].t
}
