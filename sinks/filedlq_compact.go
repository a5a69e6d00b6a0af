package sinks

import (
	"bufio"
	"context"
	"io"
	"os"

	"github.com/dletter/dletter/internal/fsutil"
)

// Compaction rewrites the log with only the live items, oldest first, after
// a meta record that keeps the last ID and the dropped count. It runs in two
// phases so that writers wait only for the end of it:
//
//  1. Without the lock, it copies the live items of a snapshot into a
//     temporary file and syncs it, while writes go on appending to the old
//     log and reads go on reading it.
//  2. With the lock, it appends what was written to the old log since the
//     snapshot (records that stand on their own: adds, updates, tombstones),
//     syncs, renames the file into place, syncs the directory, and points
//     the index at the new offsets.
//
// Both phases begin by waiting for the writes in flight (see
// filedlq_write.go) to be published, so that the index accounts for every
// record of the log it copies.
//
// A crash at any point leaves either the old log or the new one, each
// complete; a temporary file left behind is removed at open.

// needsCompactionLocked reports whether dead records outweigh live ones
// enough to rewrite the log (and a failed compaction is not being retried
// too eagerly).
func (f *FileDLQ) needsCompactionLocked() bool {
	size := f.app.Size()
	garbage := size - f.live
	if garbage < f.minGarbage || garbage < garbageRatio*f.live || f.compacting {
		return false
	}
	return f.failedAt == 0 || size > 2*f.failedAt
}

// Compact rewrites the log with only the live items. It runs by itself
// when dead records outweigh live ones; call it to reclaim space at once.
func (f *FileDLQ) Compact(ctx context.Context) error {
	const op = "FileDLQ.Compact"
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.compact(); err != nil {
		return Errorf(CodeInternal, op, "%w", err)
	}
	return nil
}

// snapItem is a live item of the snapshot a compaction copies.
type snapItem struct {
	seq  uint64
	sink string
	loc  fileLoc
}

func (f *FileDLQ) compact() (err error) {
	f.mu.Lock()
	if err := f.usableLocked("FileDLQ.Compact"); err != nil {
		f.mu.Unlock()
		return err
	}
	if f.compacting {
		f.mu.Unlock()
		return nil
	}
	f.compacting = true
	// Every record in the log up to snapSize is in the index: a record
	// written but not yet published would be in neither the snapshot nor
	// the tail.
	f.drainLocked()
	if err := f.usableLocked("FileDLQ.Compact"); err != nil { // closed meanwhile
		f.compacting = false
		f.resumeLocked()
		f.mu.Unlock()
		return err
	}
	snapSize, rf := f.app.Size(), f.rf
	meta := appendMetaRecord(nil, f.seq, f.dropped)
	snap := make([]snapItem, 0, f.idx.count(""))
	for n := f.idx.oldest(); n != nil; n = n.newer[0] {
		snap = append(snap, snapItem{seq: n.seq, sink: n.sink, loc: n.val})
	}
	f.resumeLocked()
	f.mu.Unlock()

	tmp := f.path + fsutil.TempSuffix
	defer func() {
		f.mu.Lock()
		f.compacting = false
		if err != nil {
			if f.app != nil {
				f.failedAt = f.app.Size()
			}
			_ = os.Remove(tmp)
		} else {
			f.failedAt = 0
		}
		f.mu.Unlock()
	}()

	// Phase 1: the snapshot, without the lock.
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	defer fh.Close()
	locs, base, err := writeSnapshot(fh, rf, meta, snap)
	if err != nil {
		return err
	}
	if err := fsutil.Fdatasync(fh); err != nil {
		return err
	}
	if f.afterSnapshot != nil {
		f.afterSnapshot()
	}

	// Phase 2: the tail and the swap, with the lock, once the writes in
	// flight are in the index (their offsets are remapped below).
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drainLocked()
	defer f.resumeLocked()
	if err := f.usableLocked("FileDLQ.Compact"); err != nil {
		return err
	}
	tailEnd := f.app.Size()
	if _, err := io.Copy(fh, io.NewSectionReader(f.rf, snapSize, tailEnd-snapSize)); err != nil {
		return err
	}
	if err := fsutil.Fdatasync(fh); err != nil {
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if err := fsutil.RenameDurable(tmp, f.path); err != nil {
		return err
	}
	f.closeFiles()
	f.app, f.rf = nil, nil
	if err := f.openFiles(); err != nil {
		f.broken = err
		return err
	}
	f.remapLocked(snap, locs, snapSize, base)
	return nil
}

// writeSnapshot writes meta and the records of snap (read from rf) to w,
// and returns the items' new locations and the size written.
func writeSnapshot(w io.Writer, rf io.ReaderAt, meta []byte, snap []snapItem) ([]fileLoc, int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.Write(meta); err != nil {
		return nil, 0, err
	}
	off := int64(len(meta))
	locs := make([]fileLoc, len(snap))
	var line, data []byte
	for i, s := range snap {
		data = append(data[:0], make([]byte, s.loc.itemLen())...)
		if _, err := rf.ReadAt(data, s.loc.off+int64(s.loc.itemOff)); err != nil {
			return nil, 0, err
		}
		var itemStart int
		line, itemStart = appendItemRecord(line[:0], opAdd, s.seq, s.loc.at, s.sink, data)
		if _, err := bw.Write(line); err != nil {
			return nil, 0, err
		}
		locs[i] = fileLoc{off: off, lineLen: uint32(len(line)), itemOff: uint32(itemStart), at: s.loc.at}
		off += int64(len(line))
	}
	return locs, off, bw.Flush()
}

// remapLocked points the index at the new log: an item whose record is
// before snapSize was unchanged since the snapshot and moved to its
// snapshot location; one written since sits in the copied tail, shifted
// from snapSize to base. Both the index and snap are in seq order.
func (f *FileDLQ) remapLocked(snap []snapItem, locs []fileLoc, snapSize, base int64) {
	i := 0
	f.live = 0
	for n := f.idx.oldest(); n != nil; n = n.newer[0] {
		if n.val.off >= snapSize {
			n.val.off = base + (n.val.off - snapSize)
		} else {
			for snap[i].seq != n.seq {
				i++
			}
			n.val = locs[i]
		}
		f.live += int64(n.val.lineLen)
	}
}
