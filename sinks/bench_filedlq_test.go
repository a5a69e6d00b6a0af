package sinks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/dletter/dletter"
)

// benchItem is a typical dead-lettered webhook delivery (about 500 bytes
// of JSON).
func benchItem(i int) DLQItem {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	it := DLQItem{
		Sink:      []string{"orders-webhook", "ops-mail", "alerts-slack"}[i%3],
		At:        at,
		Recipient: json.RawMessage(`{"url_ref":"orders","tenant":"t-` + strconv.Itoa(i%100) + `"}`),
		Message: Message{
			Subject:  "order " + strconv.Itoa(i) + " paid",
			Body:     `{"order_id":"ord-` + strconv.Itoa(i) + `","amount":4200,"currency":"EUR","items":[{"sku":"A-1","qty":2}]}`,
			Metadata: map[string]string{"X-Tenant": "t-" + strconv.Itoa(i%100)},
		},
		DeliveryID: "0f8e7d6c-5b4a-4392-8170-" + strconv.Itoa(100000000000+i),
	}
	for a := 0; a < 3; a++ {
		it.RecordFailure(at.Add(time.Duration(a)*time.Second), errors.New("http status 503 Service Unavailable"))
	}
	return it
}

// BenchmarkFileDLQPush puts FileDLQ.Push beside the dletter log's Log of
// the same item in the same durability mode, from one goroutine and from
// sixteen, and beside one bare write(2) of the FileDLQ's record.
func BenchmarkFileDLQPush(b *testing.B) {
	ctx := context.Background()
	item := benchItem(1)
	reason := errors.New(item.LastError)
	modes := []struct {
		name string
		d    dletter.Durability
	}{{"survives-crash", dletter.SurvivesCrash}, {"survives-power-loss", dletter.SurvivesPowerLoss}}
	for _, m := range modes {
		for _, writers := range []int{1, 16} {
			prefix := m.name + "-" + strconv.Itoa(writers)
			b.Run(prefix+"/FileDLQ.Push", func(b *testing.B) {
				f, err := OpenFileDLQ(b.TempDir(), WithMaxItems(-1), WithDurability(m.d))
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				runWriters(b, writers, func() error { return f.Push(ctx, item) })
			})
			b.Run(prefix+"/dletter.Log", func(b *testing.B) {
				l, err := dletter.New(filepath.Join(b.TempDir(), "dlq.log"), dletter.WithDurability(m.d))
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				runWriters(b, writers, func() error { return dletter.Log(l, item, reason, item.Attempts) })
			})
		}
	}
	b.Run("survives-crash-1/write2", func(b *testing.B) {
		data, at, _ := encodeItem("bench", item)
		rec, _ := appendItemRecord(nil, opAdd, 1, at, item.Sink, data)
		fh, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer fh.Close()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fh.Write(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// runWriters calls write b.N times in all, from one goroutine when writers
// is 1, else from writers goroutines at once.
func runWriters(b *testing.B, writers int, write func() error) {
	b.ReportAllocs()
	if writers == 1 {
		for b.Loop() {
			if err := write(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := write(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// writeMillion writes the log of a FileDLQ holding n items straight to
// dir, as Push would have written it.
func writeMillion(b *testing.B, dir string, n int) {
	b.Helper()
	fh, err := os.Create(filepath.Join(dir, fileDLQLog))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	var rec []byte
	for i := 1; i <= n; i++ {
		data, at, err := encodeItem("bench", benchItem(i))
		if err != nil {
			b.Fatal(err)
		}
		rec, _ = appendItemRecord(rec[:0], opAdd, uint64(i), at, benchItem(i).Sink, data)
		if _, err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFileDLQMillion measures, on a FileDLQ of 1,000,000 items: Open
// (rebuilding the index from the log), Items(100) over all sinks and over
// one sink, a page of List with a cursor deep in the log, and Count.
func BenchmarkFileDLQMillion(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	writeMillion(b, dir, n)
	ctx := context.Background()

	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := OpenFileDLQ(dir, WithMaxItems(-1))
			if err != nil {
				b.Fatal(err)
			}
			if c, _ := f.Count(ctx, ""); c != n {
				b.Fatalf("%d items", c)
			}
			_ = f.Close()
		}
	})
	f, err := OpenFileDLQ(dir, WithMaxItems(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.Run("Items100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if items, err := f.Items(ctx, "", 100); err != nil || len(items) != 100 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("Items100-one-sink", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if items, err := f.Items(ctx, "ops-mail", 100); err != nil || len(items) != 100 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("List100-deep-cursor", func(b *testing.B) {
		cursor := formatID(n / 2)
		b.ReportAllocs()
		for b.Loop() {
			if items, _, err := f.List(ctx, Filter{}, cursor, 100); err != nil || len(items) != 100 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("Count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if c, _ := f.Count(ctx, "ops-mail"); c == 0 {
				b.Fatal(c)
			}
		}
	})
}
