package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// TempSuffix ends the name of every temporary file WriteFileAtomic creates.
// A file with this suffix left by a crash is garbage and may be deleted.
const TempSuffix = ".tmp"

// SyncDir fsyncs the directory dir, so that the creation, renaming or removal
// of the files in it survives a power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsutil: open directory for sync: %w", err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return fmt.Errorf("fsutil: sync directory %s: %w", dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("fsutil: close directory %s: %w", dir, cerr)
	}
	return nil
}

// RenameDurable renames oldpath to newpath and syncs the directories of both,
// so that the rename survives a power loss.
func RenameDurable(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("fsutil: rename: %w", err)
	}
	if err := SyncDir(filepath.Dir(newpath)); err != nil {
		return err
	}
	if od := filepath.Dir(oldpath); od != filepath.Dir(newpath) {
		return SyncDir(od)
	}
	return nil
}

// RemoveDurable removes path and syncs its directory. A path that does not
// exist is not an error.
func RemoveDurable(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("fsutil: remove: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// WriteFileAtomic creates or replaces path with what write produces. The
// content goes to path+TempSuffix first, is synced, renamed over path, and the
// directory is synced: after a crash path holds either its old content or
// the whole new content, never a part. When write or any step fails, the
// temporary file is removed and path is untouched.
func WriteFileAtomic(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	tmp := path + TempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("fsutil: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsutil: sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("fsutil: close %s: %w", tmp, err)
	}
	return RenameDurable(tmp, path)
}

// Fdatasync flushes the data of f (and the metadata needed to read it back,
// such as its size) to stable storage. On Linux it is fdatasync(2), which
// skips the timestamps; elsewhere it is f.Sync.
func Fdatasync(f *os.File) error {
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("fsutil: fdatasync %s: %w", f.Name(), err)
	}
	return nil
}
