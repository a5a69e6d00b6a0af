package sinks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dletter/dletter"
)

// FileQueue is the embedded Queue: for each sink, a directory under dir
// holding two dletter logs, "queue.log" for messages not tried yet and
// "retry.log" for messages waiting for their next attempt. Keeping them
// apart means a new message never waits behind a retry's backoff.
//
// Enqueue appends one line (as durable as WithDurability says; by default
// it survives the process being killed). Consume replays the sink's logs
// with dletter's concurrent replay, so a crash hands out again at most the
// tasks in flight, each with its delivery id; a task is consumed only once
// its outcome (done, or its retry line) is written. A retry's line is
// handed out again Task.Wait after its failure; a retry that fails while
// the retry log waits for an earlier one is seen when that wait ends (at
// most the sink's MaxBackoff later than due).
type FileQueue struct {
	dir  string
	opts storeOptions

	mu     sync.Mutex
	sinks  map[string]*sinkLogs
	closed bool
}

// sinkLogs are the logs of one sink and the signals that wake its
// consumers.
type sinkLogs struct {
	fresh, retry         *dletter.Logger
	freshKick, retryKick chan struct{}
}

// Names of a sink's logs.
const (
	queueLogName = "queue.log"
	retryLogName = "retry.log"
)

// OpenFileQueue opens (creating it when missing) the queue in dir. The
// options that apply are WithDurability, WithSyncInterval and WithLogger.
func OpenFileQueue(dir string, opts ...StoreOption) (*FileQueue, error) {
	q := &FileQueue{dir: dir, sinks: make(map[string]*sinkLogs), opts: buildStoreOptions(storeOptions{}, 0, opts)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sinks: open file queue: %w", err)
	}
	return q, nil
}

// Enqueue appends t to its sink's queue log.
func (q *FileQueue) Enqueue(ctx context.Context, t *Task) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if t.Sink == "" {
		return Errorf(CodeInvalidArgument, "FileQueue.Enqueue", "a task needs a sink")
	}
	s, err := q.logs(t.Sink)
	if err != nil {
		return err
	}
	if err := logTask(s.fresh, t, nil); err != nil {
		return err
	}
	kick(s.freshKick)
	return nil
}

// Consume replays the sink's two logs until ctx ends, each with up to n
// handlers at once (the Dispatcher's gate bounds the sends of both
// together). The queue log is replayed in dletter's follow mode, so that a
// message enqueued while a send hangs takes a free slot at once instead of
// waiting for that send; the retry log, whose items wait for their time,
// is replayed a snapshot at a time.
func (q *FileQueue) Consume(ctx context.Context, sink string, n int, handle TaskHandler) error {
	s, err := q.logs(sink)
	if err != nil {
		return err
	}
	fresh := dletter.ReplayOptions{Concurrency: n, Backoff: taskWait, Follow: true}
	retry := dletter.ReplayOptions{Concurrency: n, Backoff: taskWait}
	var wg sync.WaitGroup
	wg.Go(func() { q.consume(ctx, sink, s, s.fresh, s.freshKick, fresh, handle) })
	wg.Go(func() { q.consume(ctx, sink, s, s.retry, s.retryKick, retry, handle) })
	wg.Wait()
	return context.Cause(ctx)
}

// idleRetry bounds the pause after a replay that failed (a full disk, a
// closed log): nothing is lost, the lines stay, and the loop tries again.
const idleRetry = 30 * time.Second

// consume replays l with opts each time it is kicked, until ctx ends.
func (q *FileQueue) consume(ctx context.Context, sink string, s *sinkLogs, l *dletter.Logger, kicked chan struct{}, opts dletter.ReplayOptions, handle TaskHandler) {
	wait := time.Duration(0)
	timer := time.NewTimer(0) // a first replay at once: what a crash left
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kicked:
		case <-timer.C:
		}
		err := l.ReplayContext(ctx, func(ctx context.Context, payload []byte) error {
			return q.handle(ctx, s, sink, payload, handle)
		}, opts)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = min(max(2*wait, time.Second), idleRetry)
			q.opts.logger.Error("sinks: file queue: replay stopped; it will resume", "err", err, "retry_in", wait)
			timer.Reset(wait)
		default:
			wait = 0
		}
	}
}

// errKeep leaves a line for a later replay.
var errKeep = errors.New("sinks: task kept for later")

// handle decodes one line (see decodeQueuedTask) and acts on the handler's
// verdict.
func (q *FileQueue) handle(ctx context.Context, s *sinkLogs, sink string, payload []byte, handle TaskHandler) error {
	t := decodeQueuedTask(sink, payload)
	switch handle(ctx, &t) {
	case OutcomeRetry:
		t.NotBefore = time.Now().Add(t.Wait).UTC()
		if err := logTask(s.retry, &t, errors.New(t.LastError)); err != nil {
			return err
		}
		kick(s.retryKick)
		return nil
	case OutcomeKeep:
		return errKeep
	}
	return nil
}

// decodeQueuedTask decodes a task a queue stored for sink. A record that is
// not a task of this sink comes back, verbatim as its body, as a task to
// dead-letter, so that it is kept where an operator sees it.
func decodeQueuedTask(sink string, payload []byte) Task {
	var t Task
	err := json.Unmarshal(payload, &t)
	if err == nil && t.Sink != sink {
		err = fmt.Errorf("a task of sink %q", t.Sink)
	}
	if err != nil {
		return Task{Sink: sink, Message: Message{Body: string(payload)}, DeadLetter: true,
			LastError: fmt.Sprintf("undecodable queue record (%v)", err)}
	}
	return t
}

// taskWait is the dletter replay's Backoff: the time until the task's
// NotBefore, from the time on its line (which has only whole seconds).
func taskWait(attempt int, loggedAt time.Time, payload []byte) time.Duration {
	if attempt == 0 {
		return 0
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0
		}
		if key == "not_before" {
			var at time.Time
			if dec.Decode(&at) != nil {
				return 0
			}
			return at.Sub(loggedAt)
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return 0
		}
	}
	return 0
}

// logTask appends t to l; reason is the line's reason (nil for a new
// message).
func logTask(l *dletter.Logger, t *Task, reason error) error {
	data, err := json.Marshal(t)
	if err != nil {
		return Errorf(CodeInvalidArgument, "FileQueue", "encode task: %v", err)
	}
	if err := dletter.Log(l, dletter.RawPayload(data), reason, t.Attempts); err != nil {
		return fmt.Errorf("sinks: file queue %s: %w", t.Sink, err)
	}
	return nil
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// logs returns the open logs of sink, opening them on first use.
func (q *FileQueue) logs(sink string) (*sinkLogs, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, Errorf(CodeClosed, "FileQueue", "queue is closed")
	}
	if s, ok := q.sinks[sink]; ok {
		return s, nil
	}
	dir := filepath.Join(q.dir, escapeSinkDir(sink))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sinks: file queue %s: %w", sink, err)
	}
	opts := []dletter.Option{dletter.WithLogger(q.opts.logger)}
	if q.opts.durability != 0 {
		opts = append(opts, dletter.WithDurability(q.opts.durability))
	}
	if q.opts.syncInterval > 0 {
		opts = append(opts, dletter.WithSyncInterval(q.opts.syncInterval))
	}
	fresh, err := dletter.New(filepath.Join(dir, queueLogName), opts...)
	if err != nil {
		return nil, fmt.Errorf("sinks: file queue %s: %w", sink, err)
	}
	retry, err := dletter.New(filepath.Join(dir, retryLogName), opts...)
	if err != nil {
		_ = fresh.Close()
		return nil, fmt.Errorf("sinks: file queue %s: %w", sink, err)
	}
	s := &sinkLogs{fresh: fresh, retry: retry, freshKick: make(chan struct{}, 1), retryKick: make(chan struct{}, 1)}
	q.sinks[sink] = s
	return s, nil
}

// Sinks names the sinks that have a directory in the queue.
func (q *FileQueue) Sinks() ([]string, error) {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("sinks: file queue: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if name, ok := unescapeSinkDir(e.Name()); ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// Pending returns the items in the sink's two logs.
func (q *FileQueue) Pending(sink string) (int64, error) {
	s, err := q.logs(sink)
	if err != nil {
		return 0, err
	}
	a, err := s.fresh.Count(dletter.RetryLog)
	if err != nil {
		return 0, err
	}
	b, err := s.retry.Count(dletter.RetryLog)
	return a + b, err
}

// Close closes every log. It is idempotent.
func (q *FileQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	var errs []error
	for _, s := range q.sinks {
		for _, l := range []*dletter.Logger{s.fresh, s.retry} {
			if err := l.Close(); err != nil && !errors.Is(err, dletter.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// escapeSinkDir makes a sink name a directory name: letters, digits, '-'
// and '_' stay, every other byte (and a leading '.') becomes %XX.
func escapeSinkDir(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// unescapeSinkDir reverses escapeSinkDir; ok is false for a name it could
// not have made.
func unescapeSinkDir(dir string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(dir); i++ {
		if dir[i] != '%' {
			b.WriteByte(dir[i])
			continue
		}
		if i+2 >= len(dir) {
			return "", false
		}
		c, err := strconv.ParseUint(dir[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(c))
		i += 2
	}
	name := b.String()
	return name, name != "" && escapeSinkDir(name) == dir
}
