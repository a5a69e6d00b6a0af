package appendlog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dletter/dletter/internal/fsutil"
)

// repairTail moves the bytes after the last '\n' of f (a record torn by a
// crash) to the end of tornPath (created with perm) as one line, syncs that,
// and truncates f.
func repairTail(f *os.File, tornPath string, perm os.FileMode) (Repair, error) {
	fi, err := f.Stat()
	if err != nil {
		return Repair{}, fmt.Errorf("appendlog: stat %s: %w", f.Name(), err)
	}
	size := fi.Size()
	if size == 0 {
		return Repair{}, nil
	}
	start, err := tailStart(f, size)
	if err != nil {
		return Repair{}, err
	}
	if start == size {
		return Repair{}, nil
	}
	if err := saveTail(f, start, size, tornPath, perm); err != nil {
		return Repair{}, err
	}
	if err := f.Truncate(start); err != nil {
		return Repair{}, fmt.Errorf("appendlog: truncate torn tail of %s: %w", f.Name(), err)
	}
	if err := fsutil.Fdatasync(f); err != nil {
		return Repair{}, err
	}
	return Repair{Offset: start, Bytes: size - start, Path: tornPath}, nil
}

// tailStart returns the offset just after the last '\n' in f's first size
// bytes, or 0 when there is none.
func tailStart(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		chunk := buf[:n]
		if _, err := f.ReadAt(chunk, end-n); err != nil && err != io.EOF {
			return 0, fmt.Errorf("appendlog: read tail of %s: %w", f.Name(), err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

func saveTail(f *os.File, start, size int64, tornPath string, perm os.FileMode) error {
	t, err := os.OpenFile(tornPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return fmt.Errorf("appendlog: keep torn tail: %w", err)
	}
	_, err = io.Copy(t, io.NewSectionReader(f, start, size-start))
	if err == nil {
		_, err = t.Write([]byte{'\n'})
	}
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("appendlog: keep torn tail in %s: %w", tornPath, err)
	}
	return fsutil.SyncDir(filepath.Dir(tornPath))
}
