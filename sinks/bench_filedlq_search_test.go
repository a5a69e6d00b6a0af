package sinks

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkFileDLQSearch measures a search (Filter.Contains, behind the
// console's search and `dlq ls --q`) over a FileDLQ of 1,000,000 items
// that finds one item, so that the page's 100 are never reached and every
// item is looked at: FileDLQ.List (both cases of the query), beside the
// obvious alternative (reading and decoding every item, then Filter.Match)
// and the limit (a plain scan of the log's lines for the query's bytes).
// Besides the wall time, each reports the CPU time of the process per
// operation (cpu-ns/op), which a machine shared with other work stretches
// less.
func BenchmarkFileDLQSearch(b *testing.B) {
	const n = 1_000_000
	const q = "ord-999999"
	dir := b.TempDir()
	writeMillion(b, dir, n)
	ctx := context.Background()
	f, err := OpenFileDLQ(dir, WithMaxItems(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, q := range []string{q, "ORD-999999"} {
		b.Run("q="+q+"/FileDLQ.List", func(b *testing.B) {
			measure(b, func() int {
				items, _, err := f.List(ctx, Filter{Contains: q}, "", 100)
				if err != nil {
					b.Fatal(err)
				}
				return len(items)
			})
		})
	}
	b.Run("q="+q+"/decode-every-item", func(b *testing.B) {
		flt := Filter{Contains: q}
		measure(b, func() int {
			found := 0
			f.mu.RLock()
			defer f.mu.RUnlock()
			f.idx.walk("", 0, func(n *indexNode[fileLoc]) bool {
				it, err := f.readLocked("bench", n)
				if err != nil {
					b.Fatal(err)
				}
				if flt.Match(&it) {
					found++
				}
				return true
			})
			return found
		})
	})
	b.Run("q="+q+"/line-scan", func(b *testing.B) {
		needle := []byte(q)
		measure(b, func() int {
			fh, err := os.Open(filepath.Join(dir, fileDLQLog))
			if err != nil {
				b.Fatal(err)
			}
			defer fh.Close()
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 1<<20), maxItemBytes+4096)
			found := 0
			for sc.Scan() {
				if bytes.Contains(sc.Bytes(), needle) {
					found++
				}
			}
			if err := sc.Err(); err != nil {
				b.Fatal(err)
			}
			return found
		})
	})
}

// measure runs search in b's loop, checks that it finds one item, and
// reports allocations and the process's CPU time per operation.
func measure(b *testing.B, search func() int) {
	b.ReportAllocs()
	start := processCPU()
	for b.Loop() {
		if found := search(); found != 1 {
			b.Fatalf("found %d items, want 1", found)
		}
	}
	if cpu := processCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
}
