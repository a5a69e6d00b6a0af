// Package filelock takes an exclusive, advisory lock on one file, so that two
// processes (or two owners in one process) never write or replay the same
// log. The lock is flock(2) on a dedicated lock file next to what it guards,
// so one directory can hold many independently locked logs. The kernel drops
// the lock when its holder dies, even by SIGKILL: a stale lock file never
// blocks a restart.
//
// Locking is implemented on Unix systems; elsewhere TryLock fails with
// errors.ErrUnsupported.
//
// Use:
//
//	lk, err := filelock.TryLock(path + ".lock")
//	if errors.Is(err, filelock.ErrLocked) {
//		// another owner holds it
//	}
//	defer lk.Unlock()
//
// The lock file is left on disk after Unlock: deleting it would race with a
// process that is about to lock it.
package filelock
