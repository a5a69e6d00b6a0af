package sinks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/internal/testenv"
)

// pipelineHook records the size of every pipeline the client sends and,
// once armed, holds the next one until released.
type pipelineHook struct {
	mu    sync.Mutex
	sizes []int
	armed bool
	held  chan struct{} // closed when a pipeline is being held
	hold  chan struct{} // closed to let it go
}

func newPipelineHook() *pipelineHook {
	return &pipelineHook{held: make(chan struct{}), hold: make(chan struct{})}
}

func (h *pipelineHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.sizes = append(h.sizes, len(cmds))
		wait := h.armed
		h.armed = false
		h.mu.Unlock()
		if wait {
			close(h.held)
			<-h.hold
		}
		return next(ctx, cmds)
	}
}

// arm holds the next pipeline and forgets the sizes seen so far.
func (h *pipelineHook) arm() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed, h.sizes = true, nil
}

func (h *pipelineHook) pipelines() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.sizes...)
}

func queuedWrites(b *redisBatch) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queued)
}

// TestRedisPushesShareAPipeline: while one push's pipeline is in flight,
// the 63 pushes that arrive go together as the next pipeline, each still
// one XADD, each caller with its own ID; a push that fails (its stream key
// holds a string) fails alone.
func TestRedisPushesShareAPipeline(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	h := newPipelineHook()
	c.AddHook(h)
	ctx := context.Background()
	d := newRedisDLQ(t, c)
	for _, s := range []string{"a", "bad"} { // register the sinks
		if err := d.Push(ctx, DLQItem{Sink: s}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Del(ctx, d.streamKey("bad")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, d.streamKey("bad"), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	before := commandCalls(t, c)
	h.arm()
	first := make(chan error, 1)
	go func() { _, err := d.Add(ctx, DLQItem{Sink: "a", LastError: "first"}); first <- err }()
	<-h.held
	const n = 63
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		sink := "a"
		if i == 7 {
			sink = "bad"
		}
		wg.Go(func() { ids[i], errs[i] = d.Add(ctx, DLQItem{Sink: sink, LastError: fmt.Sprint(i)}) })
	}
	testenv.WaitFor(t, "63 pushes queued behind the first", func() bool { return queuedWrites(&d.batch) == n })
	close(h.hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first push: %v", err)
	}
	if got := h.pipelines(); fmt.Sprint(got) != "[1 63]" {
		t.Errorf("pipelines of %v commands, want [1 63]", got)
	}
	seen := map[string]bool{}
	for i := range n {
		if i == 7 {
			if !errors.Is(errs[i], ErrSinkUnavailable) {
				t.Errorf("push into a string key: %v, want ErrSinkUnavailable", errs[i])
			}
			continue
		}
		if errs[i] != nil || seen[ids[i]] {
			t.Fatalf("push %d: id %q, %v", i, ids[i], errs[i])
		}
		seen[ids[i]] = true
		if it, err := d.Get(ctx, ids[i]); err != nil || it.LastError != fmt.Sprint(i) {
			t.Errorf("item of push %d: %+v, %v", i, it, err)
		}
	}
	after := commandCalls(t, c)
	if got := after["xadd"] - before["xadd"]; got != n+1 {
		t.Errorf("%d pushes ran XADD %d times", n+1, got)
	}
}

// TestRedisEnqueueUnreachable: a write to a server that is gone fails each
// caller, and a later one still gets its turn (none waits forever).
func TestRedisEnqueueUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	q := NewRedisQueue(c)
	q.known.known.Store("hook", time.Now()) // skip the SADD: the XADD is what is tested
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := q.Enqueue(context.Background(), &Task{Sink: "hook"}); !errors.Is(err, ErrSinkUnavailable) {
				t.Errorf("Enqueue to a closed port: %v, want ErrSinkUnavailable", err)
			}
		})
	}
	wg.Wait()
}
