//go:build !linux

package fsutil

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
