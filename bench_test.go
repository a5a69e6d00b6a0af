package dletter

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/fsutil"
)

// benchOrder is the Quick start's Order, with AppendLog on the pointer.
type benchOrder struct{ ID string }

func (o *benchOrder) AppendLog(buf []byte) []byte {
	buf = append(buf, `{"id":"`...)
	buf = append(buf, o.ID...)
	return append(buf, '"', '}')
}

// valueOrder is go-dletter's Quick start Order: AppendLog on the value.
type valueOrder struct{ ID string }

func (o valueOrder) AppendLog(buf []byte) []byte {
	buf = append(buf, `{"id":"`...)
	buf = append(buf, o.ID...)
	return append(buf, '"', '}')
}

var errBench = errors.New("database timeout")

func benchLogger(b *testing.B, opts ...Option) *Logger {
	b.Helper()
	opts = append([]Option{WithMaxSize(0), WithCompress(false)}, opts...)
	l, err := New(filepath.Join(b.TempDir(), "orders.log"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	return l
}

// benchLine is a record of the size Log writes for benchOrder.
func benchLine(b *testing.B) []byte {
	l := benchLogger(b)
	if err := Log(l, &benchOrder{ID: "ord-42"}, errBench, 1); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(l.retry.fam.active)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchFile(b *testing.B) *os.File {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return f
}

// BenchmarkLog: one goroutine, default durability, against one bare
// write(2) of the same bytes to a file opened the same way.
func BenchmarkLog(b *testing.B) {
	b.Run("dletter", func(b *testing.B) {
		l := benchLogger(b)
		o := &benchOrder{ID: "ord-42"}
		b.ReportAllocs()
		for b.Loop() {
			if err := Log(l, o, errBench, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dletter-rawpayload", func(b *testing.B) {
		l := benchLogger(b)
		p := RawPayload(`{"id":"ord-42"}`)
		b.ReportAllocs()
		for b.Loop() {
			if err := Log(l, p, errBench, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dletter-value-loggable", func(b *testing.B) {
		l := benchLogger(b)
		o := valueOrder{ID: "ord-42"}
		b.ReportAllocs()
		for b.Loop() {
			if err := Log(l, o, errBench, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write2", func(b *testing.B) {
		line := benchLine(b)
		f := benchFile(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.Write(line); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLogParallel8: 8 goroutines logging, against 8 goroutines each
// doing one write(2) per record under a mutex.
func BenchmarkLogParallel8(b *testing.B) {
	const g = 8
	b.Run("dletter", func(b *testing.B) {
		l := benchLogger(b)
		b.ReportAllocs()
		o := &benchOrder{ID: "ord-42"} // read-only, shared by the goroutines
		runParallel(b, g, func() error { return Log(l, o, errBench, 1) })
	})
	b.Run("mutex-write2", func(b *testing.B) {
		line := benchLine(b)
		f := benchFile(b)
		var mu sync.Mutex
		b.ReportAllocs()
		runParallel(b, g, func() error {
			mu.Lock()
			defer mu.Unlock()
			_, err := f.Write(line)
			return err
		})
	})
}

// BenchmarkLogPowerLoss64: 64 goroutines logging with SurvivesPowerLoss
// (group commit), against one write(2)+fdatasync per record under a mutex.
func BenchmarkLogPowerLoss64(b *testing.B) {
	const g = 64
	b.Run("dletter", func(b *testing.B) {
		l := benchLogger(b, WithDurability(SurvivesPowerLoss))
		b.ReportAllocs()
		o := &benchOrder{ID: "ord-42"} // read-only, shared by the goroutines
		runParallel(b, g, func() error { return Log(l, o, errBench, 1) })
	})
	b.Run("fdatasync-per-record", func(b *testing.B) {
		line := benchLine(b)
		f := benchFile(b)
		var mu sync.Mutex
		b.ReportAllocs()
		runParallel(b, g, func() error {
			mu.Lock()
			defer mu.Unlock()
			if _, err := f.Write(line); err != nil {
				return err
			}
			return fsutil.Fdatasync(f)
		})
	})
}

// runParallel runs b.N calls of fn spread over exactly g goroutines.
func runParallel(b *testing.B, g int, fn func() error) {
	b.Helper()
	var wg sync.WaitGroup
	per := b.N / g
	rest := b.N % g
	b.ResetTimer()
	for i := range g {
		n := per
		if i < rest {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// replayItems is the size of the Replay benchmark.
const replayItems = 1_000_000

// writeReplayFile writes n due items straight into a rotated file.
func writeReplayFile(b *testing.B, dir string, n int) string {
	path := filepath.Join(dir, "orders-2024-01-01T00-00-00.000.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for i := range n {
		buf = appendHeader(buf[:0], &line{ts: 1700000000, attempt: 1, reason: "database timeout"})
		buf = append(buf, `{"id":"ord-`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `"}}`+"\n"...)
		_, _ = w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	return path
}

// BenchmarkReplay: 1,000,000 due items (failed long ago, with a backoff
// configured) with a no-op handler and the per-item checkpoint, against a
// plain bufio.Scanner over the same file. One op is
// one item; the items/s metric is per second of the whole run.
func BenchmarkReplay(b *testing.B) {
	b.Run("dletter", func(b *testing.B) {
		b.ReportAllocs()
		var items int
		for b.Loop() {
			timedReplay(b, replayItems, func([]byte) error { items++; return nil },
				ReplayOptions{MaxAttempts: 5, InitialWait: time.Second})
		}
		b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("bufio-scan", func(b *testing.B) {
		path := writeReplayFile(b, b.TempDir(), replayItems)
		b.ReportAllocs()
		var items int
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				items++
			}
			_ = f.Close()
		}
		b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
	})
}

// timedReplay replays a file of n due items with handler and opts, timing
// only the Replay: writing the file and opening the Logger are not timed.
func timedReplay(b *testing.B, n int, handler Handler, opts ReplayOptions) {
	b.StopTimer()
	dir := b.TempDir()
	writeReplayFile(b, dir, n)
	l, err := New(filepath.Join(dir, "orders.log"), WithCompress(false))
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	err = l.Replay(context.Background(), handler, opts)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	_ = l.Close()
	b.StartTimer()
}

// BenchmarkReplayConcurrent: 2,000 due items whose handler sleeps 10 ms (a
// slow receiver), replayed with Concurrency 32, beside its limit (the same
// sleeps on one goroutine per item, with no log at all) and beside serial
// Replay (on 200 items, to keep the run short: 10 ms an item whatever the
// count). One op is one whole Replay; items/s compares the three.
func BenchmarkReplayConcurrent(b *testing.B) {
	const items, wait = 2000, 10 * time.Millisecond
	sleepy := func([]byte) error { time.Sleep(wait); return nil }
	b.Run("concurrency-32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			timedReplay(b, items, sleepy, ReplayOptions{Concurrency: 32})
		}
		b.ReportMetric(float64(b.N*items)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("goroutine-per-item", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for range items {
				wg.Go(func() { _ = sleepy(nil) })
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.N*items)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("serial", func(b *testing.B) {
		const serialItems = items / 10
		b.ReportAllocs()
		for b.Loop() {
			timedReplay(b, serialItems, sleepy, ReplayOptions{})
		}
		b.ReportMetric(float64(b.N*serialItems)/b.Elapsed().Seconds(), "items/s")
	})
}

func BenchmarkDecodeLine(b *testing.B) {
	ln := []byte(`{"ts":1700000000,"attempt":3,"reason":"database timeout","id":"9f86d081884c7d65","payload":{"id":"ord-42","lines":[1,2,3],"note":"x\"y"}}`)
	b.SetBytes(int64(len(ln)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeLine(ln); err != nil {
			b.Fatal(err)
		}
	}
}

// interleaved runs ours and the limit in alternating chunks of chunk
// operations, so both see the same machine load, and reports each one's
// ns/op and their ratio. b.N counts operations of each.
func interleaved(b *testing.B, chunk int, ours, limit func(n int)) {
	b.Helper()
	var tOurs, tLimit time.Duration
	done := 0
	for done < b.N {
		n := min(chunk, b.N-done)
		start := time.Now()
		ours(n)
		mid := time.Now()
		limit(n)
		tLimit += time.Since(mid)
		tOurs += mid.Sub(start)
		done += n
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "dletter-ns/op")
	b.ReportMetric(float64(tLimit.Nanoseconds())/float64(b.N), "limit-ns/op")
	b.ReportMetric(float64(tOurs)/float64(tLimit), "ratio")
}

// BenchmarkLogInterleaved repeats BenchmarkLog and BenchmarkLogParallel8
// with ours and the limit alternating every few thousand records, which
// keeps the ratio meaningful on a shared, noisy machine.
func BenchmarkLogInterleaved(b *testing.B) {
	b.Run("1-goroutine-vs-write2", func(b *testing.B) {
		l := benchLogger(b)
		o := &benchOrder{ID: "ord-42"}
		line := benchLine(b)
		f := benchFile(b)
		interleaved(b, 2000, func(n int) {
			for range n {
				if err := Log(l, o, errBench, 1); err != nil {
					b.Fatal(err)
				}
			}
		}, func(n int) {
			for range n {
				if _, err := f.Write(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("8-goroutines-vs-mutex-write2", func(b *testing.B) {
		l := benchLogger(b)
		o := &benchOrder{ID: "ord-42"}
		line := benchLine(b)
		f := benchFile(b)
		var mu sync.Mutex
		interleaved(b, 8000, func(n int) {
			spread(8, n, func() error { return Log(l, o, errBench, 1) })
		}, func(n int) {
			spread(8, n, func() error {
				mu.Lock()
				defer mu.Unlock()
				_, err := f.Write(line)
				return err
			})
		})
	})
}

// spread runs n calls of fn over g goroutines and waits.
func spread(g, n int, fn func() error) {
	var wg sync.WaitGroup
	for i := range g {
		k := n / g
		if i < n%g {
			k++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range k {
				if fn() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkStats: Stats on a log of 1,000,000 items (a rotated file) beside
// counting the lines of the same file with a bufio.Scanner, the least a
// Stats that read the log would cost.
func BenchmarkStats(b *testing.B) {
	dir := b.TempDir()
	path := writeReplayFile(b, dir, replayItems)
	b.Run("dletter", func(b *testing.B) {
		l, err := New(filepath.Join(dir, "orders.log"), WithCompress(false))
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		b.ReportAllocs()
		for b.Loop() {
			st, err := l.Stats()
			if err != nil || st.Pending != replayItems {
				b.Fatalf("Stats = %+v, %v", st, err)
			}
		}
	})
	b.Run("bufio-count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for sc := bufio.NewScanner(f); sc.Scan(); {
				n++
			}
			_ = f.Close()
			if n != replayItems {
				b.Fatalf("%d lines", n)
			}
		}
	})
}

// notDueItems is the size of BenchmarkReplayNotDue.
const notDueItems = 200_000

// BenchmarkReplayNotDue: 200,000 items none of which is due, so Replay
// sets each one aside (a write per item), rewrites the deferral file in due
// order and then delivers them. Backoff makes each item due a random 1 to
// 2ms after Replay meets it, so the items sort out of file order and the
// waits after the pass come to about a millisecond. One op is one item.
func BenchmarkReplayNotDue(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 2))
	backoff := func(_ int, loggedAt time.Time, _ []byte) time.Duration {
		return time.Since(loggedAt) + time.Millisecond + time.Duration(rnd.Int64N(int64(time.Millisecond)))
	}
	b.ReportAllocs()
	var items int
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		writeReplayFile(b, dir, notDueItems)
		l, err := New(filepath.Join(dir, "orders.log"), WithCompress(false))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		err = l.Replay(context.Background(), func([]byte) error { items++; return nil },
			ReplayOptions{Backoff: backoff})
		b.StopTimer()
		if err != nil || items%notDueItems != 0 {
			b.Fatalf("Replay = %v after %d items", err, items)
		}
		_ = l.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkNewCounts: New on a log of 1,000,000 items, which reads the log
// once to count them (see Count). One op is one New and Close.
func BenchmarkNewCounts(b *testing.B) {
	dir := b.TempDir()
	writeReplayFile(b, dir, replayItems)
	b.ReportAllocs()
	for b.Loop() {
		l, err := New(filepath.Join(dir, "orders.log"), WithCompress(false))
		if err != nil {
			b.Fatal(err)
		}
		_ = l.Close()
	}
	b.ReportMetric(float64(b.N)*replayItems/b.Elapsed().Seconds(), "items/s")
}
