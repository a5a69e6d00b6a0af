// Package appendlog is a durable appender for line-oriented log files: the
// storage under a JSONL dead-letter log or a file-backed queue.
//
// An Appender owns one file opened for appending. Append takes one or more
// complete '\n'-terminated records and returns only when they are as durable
// as the SyncMode promises:
//
//   - SyncWrite: the records were written with write(2); they survive the
//     process being killed at any instant (not a power loss).
//   - SyncData: the records were written and fdatasync'd; they survive a power
//     loss. Concurrent callers share one write and one fdatasync (group commit).
//   - SyncPeriodic: as SyncWrite, and a background goroutine fdatasyncs the file
//     every Interval, so a power loss loses at most about one Interval.
//
// Concurrent Append calls are batched: while one caller's write(2) is in
// flight, the records of the others collect in a buffer and go out in the
// next single write, so N writers cost far fewer than N system calls.
// AppendAt is Append that also returns the offset where the caller's own
// record landed, for callers that index the file (each waiter of a batch
// learns its own place in it).
//
// A failed write never leaves part of a record behind: the file is truncated
// back to the end of the last good record, the callers of that batch get the
// error, and later appends continue. When the truncate fails too, or an
// fdatasync failed (after which the page cache cannot be trusted), every later
// operation fails with ErrBroken until the file is reopened, which repairs it.
//
// Open repairs a torn tail left by a crash (bytes after the last '\n', such as
// half a record or a block of zeros): the tail is appended as one line to
// Options.TornPath (kept for inspection, never discarded), then the file is
// truncated so the next record starts on a fresh line. Open reports what it
// moved in Appender.Repair.
//
// Rotate renames the current file (for example to a timestamped backup) and
// starts a new one at the same path, atomically with respect to Append.
//
// Use:
//
//	a, err := appendlog.Open(path, appendlog.Options{Sync: appendlog.SyncData})
//	if err != nil {
//		return err
//	}
//	defer a.Close()
//	if err := a.Append(line); err != nil { // line ends with '\n'
//		return err // nothing of line is in the file
//	}
//
// The caller excludes other processes (see package filelock); an Appender is
// safe for concurrent use within one process.
package appendlog
