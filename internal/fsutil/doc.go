// Package fsutil holds the small file-system steps that crash-safe storage
// is built from: syncing a directory so that a create, rename or unlink in it
// survives a power loss, syncing only a file's data (fdatasync), and writing
// or renaming a file atomically.
//
// The recipe for replacing or publishing a file is the one etcd's WAL uses:
// write under a temporary name in the same directory, sync the file, rename
// it into place, then sync the directory:
//
//	err := fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error {
//		_, err := w.Write(data)
//		return err
//	})
//
// A file that only moves is published with RenameDurable, and a file that is
// created or removed is made durable with SyncDir(filepath.Dir(path)).
package fsutil
