package sinks

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkMemoryDLQ shows that Push, Discard, Count and Items(100) cost
// the same on a MemoryDLQ of 1,000 items as on one of 100,000 (its default
// bound).
func BenchmarkMemoryDLQ(b *testing.B) {
	ctx := context.Background()
	item := benchItem(1)
	for _, size := range []int{1_000, 100_000} {
		m := NewMemoryDLQ(WithMaxItems(-1))
		for i := 0; i < size; i++ {
			if err := m.Push(ctx, benchItem(i)); err != nil {
				b.Fatal(err)
			}
		}
		n := strconv.Itoa(size)
		b.Run("PushDiscard/"+n, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				id, err := m.Add(ctx, item)
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Discard(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Items100/"+n, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if items, err := m.Items(ctx, "", 100); err != nil || len(items) != 100 {
					b.Fatal(len(items), err)
				}
			}
		})
		b.Run("Count/"+n, func(b *testing.B) {
			for b.Loop() {
				if c, _ := m.Count(ctx, "ops-mail"); c == 0 {
					b.Fatal(c)
				}
			}
		})
		_ = m.Close()
	}
}
