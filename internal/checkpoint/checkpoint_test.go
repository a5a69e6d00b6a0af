package checkpoint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestStoreSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log-state")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Value() != 0 {
		t.Fatalf("new checkpoint = %d", c.Value())
	}
	c.Store(42)
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n, err := Read(path); err != nil || n != 42 {
		t.Fatalf("Read = %d, %v; want 42", n, err)
	}
	c, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Value() != 42 {
		t.Fatalf("reopened = %d, want 42", c.Value())
	}
}

// A 16-byte state file as go-dletter v0.2.0 writes it is read and kept
// readable by that layout.
func TestSeedStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orders-2024-01-01T00-00-00.000.log-state")
	seed := make([]byte, 16)
	binary.LittleEndian.PutUint64(seed, 7)
	binary.LittleEndian.PutUint64(seed[8:], 7^Magic)
	if err := os.WriteFile(path, seed, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Value() != 7 {
		t.Fatalf("Value = %d, want 7", c.Value())
	}
	c.Store(9)
	_ = c.Close()
	b, _ := os.ReadFile(path)
	if n := binary.LittleEndian.Uint64(b); n != 9 || binary.LittleEndian.Uint64(b[8:]) != 9^Magic {
		t.Fatalf("seed layout not kept: %x", b)
	}
}

// A store torn between the two words of the first copy falls back to the
// second copy, which is written first.
func TestTornFirstCopy(t *testing.T) {
	b := make([]byte, Size)
	binary.LittleEndian.PutUint64(b[16:], 5)
	binary.LittleEndian.PutUint64(b[24:], 5^Magic)
	binary.LittleEndian.PutUint64(b[0:], 5)
	binary.LittleEndian.PutUint64(b[8:], 4^Magic)
	if got := decode(b); got != 5 {
		t.Fatalf("decode = %d, want 5", got)
	}
	if got := decode(make([]byte, Size)); got != 0 {
		t.Fatalf("zeroed = %d, want 0", got)
	}
	if got := decode(b[:5]); got != 0 {
		t.Fatalf("short = %d, want 0", got)
	}
}

func BenchmarkStore(b *testing.B) {
	c, err := Open(filepath.Join(b.TempDir(), "s"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		i++
		c.Store(i)
	}
}
