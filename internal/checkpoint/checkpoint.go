package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Magic is XORed with the count to form the check word of each copy.
const Magic uint64 = 0xDEADBEEFCAFEBABE

// Size is the size of a state file written by this package.
const Size = 32

// Checkpoint is an open, memory-mapped state file. Store and Value are safe
// for concurrent use with each other but the caller normally has one writer.
type Checkpoint struct {
	mu   sync.Mutex
	f    *os.File
	mem  []byte
	path string
}

// Open maps the state file at path, creating it (count 0) when missing and
// growing a 16-byte file written by go-dletter to Size bytes.
func Open(path string) (*Checkpoint, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("checkpoint: stat %s: %w", path, err)
	}
	if fi.Size() < Size {
		if err := f.Truncate(Size); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("checkpoint: grow %s: %w", path, err)
		}
	}
	mem, err := mmap(f, Size)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("checkpoint: map %s: %w", path, err)
	}
	c := &Checkpoint{f: f, mem: mem, path: path}
	c.Store(decode(mem))
	return c, nil
}

// Path returns the state file's path.
func (c *Checkpoint) Path() string { return c.path }

// Value returns the stored count.
func (c *Checkpoint) Value() uint64 { return decode(c.mem) }

// Store records n. It writes the second copy, then the first.
func (c *Checkpoint) Store(n uint64) {
	m := c.mem
	binary.LittleEndian.PutUint64(m[16:24], n)
	binary.LittleEndian.PutUint64(m[24:32], n^Magic)
	binary.LittleEndian.PutUint64(m[0:8], n)
	binary.LittleEndian.PutUint64(m[8:16], n^Magic)
}

// Sync flushes the mapped page to stable storage.
func (c *Checkpoint) Sync() error {
	if err := msync(c.mem); err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", c.path, err)
	}
	return nil
}

// Close unmaps and closes the state file. It is idempotent.
func (c *Checkpoint) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := munmap(c.mem)
	c.mem = nil
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.f = nil
	if err != nil {
		return fmt.Errorf("checkpoint: close %s: %w", c.path, err)
	}
	return nil
}

// Read returns the count stored in the state file at path without mapping
// it, or 0 when the file does not exist.
func Read(path string) (uint64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("checkpoint: open %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, Size)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("checkpoint: read %s: %w", path, err)
	}
	return decode(buf[:n]), nil
}

// decode returns the count of the first valid copy in b, or 0 when neither
// copy is valid.
func decode(b []byte) uint64 {
	for off := 0; off+16 <= len(b) && off <= 16; off += 16 {
		n := binary.LittleEndian.Uint64(b[off:])
		if binary.LittleEndian.Uint64(b[off+8:]) == n^Magic {
			return n
		}
	}
	return 0
}
