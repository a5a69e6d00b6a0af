package dletter

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/dletter/dletter/internal/linereader"
)

// maxCachedCounts bounds the cache of rotated-file counts.
const maxCachedCounts = 4096

// itemCounts remembers how many items the files of the logs hold, so that
// Count and Stats, which a daemon may call every few seconds, read a rotated
// file once (a rotated file never changes; a new checkpoint, or compression,
// makes a new key) and only the newly appended part of an active file.
type itemCounts struct {
	mu     sync.Mutex
	files  map[countKey]int64
	active map[string]activeCount
}

type countKey struct {
	path string
	size int64
	skip uint64
}

// activeCount is how far an active file has been counted.
type activeCount struct {
	fi      os.FileInfo // the file counted, to notice a rotation
	scanned int64       // bytes counted; always the end of a line
	n       int64       // items in them
}

// count returns the number of items in s (see source.scan).
func (c *itemCounts) count(s source) (int64, error) {
	if s.limit > 0 {
		return c.countActive(s)
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return scanCount(s) // consumed or compressed meanwhile
	}
	key := countKey{path: s.path, size: fi.Size(), skip: s.skip}
	c.mu.Lock()
	n, ok := c.files[key]
	c.mu.Unlock()
	if ok {
		return n, nil
	}
	if n, err = scanCount(s); err != nil {
		return n, err
	}
	c.mu.Lock()
	if c.files == nil || len(c.files) >= maxCachedCounts {
		c.files = make(map[countKey]int64)
	}
	c.files[key] = n
	c.mu.Unlock()
	return n, nil
}

func scanCount(s source) (int64, error) {
	var n int64
	err := s.scan(func([]byte, int64, int64) bool { n++; return true })
	return n, err
}

// countActive counts the items of an active file up to s.limit, reading only
// what was appended since the last count of the same file.
func (c *itemCounts) countActive(s source) (int64, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	ac := c.active[s.path]
	c.mu.Unlock()
	if ac.fi == nil || !os.SameFile(ac.fi, fi) || ac.scanned > s.limit {
		ac = activeCount{fi: fi}
	}
	lr := linereader.New(io.NewSectionReader(f, ac.scanned, s.limit-ac.scanned), readBufferSize)
	start := ac.scanned
	for {
		line, err := lr.Next()
		if err == io.EOF || errors.Is(err, linereader.ErrUnterminated) {
			break // a line still being written is counted next time
		}
		if err != nil {
			return 0, err
		}
		ac.scanned = start + lr.Offset() + int64(len(line)) + 1
		if _, derr := decodeLine(line); derr == nil {
			ac.n++
		}
	}
	c.mu.Lock()
	if c.active == nil {
		c.active = make(map[string]activeCount)
	}
	c.active[s.path] = ac
	c.mu.Unlock()
	return ac.n, nil
}
