package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// queueDir is the async delivery queue's directory inside the data
// directory (a sinks.FileQueue: one directory per sink).
const queueDir = "queue"

// legacyAsyncLog is where earlier versions kept every async message in one
// log; OpenQueue moves what it still holds into the queue.
const legacyAsyncLog = "async/messages.log"

// OpenQueue opens the async delivery queue of dataDir, first moving into it
// the messages an earlier version left in its single async log.
func OpenQueue(dataDir string, log *slog.Logger) (*sinks.FileQueue, error) {
	q, err := sinks.OpenFileQueue(filepath.Join(dataDir, queueDir), sinks.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("open the async queue: %w", err)
	}
	if err := migrateLegacyLog(filepath.Join(dataDir, legacyAsyncLog), q, log); err != nil {
		_ = q.Close()
		return nil, err
	}
	return q, nil
}

// legacyRecord is a line of the earlier async log.
type legacyRecord struct {
	relay.Envelope
	Attempts int             `json:"attempts,omitempty"`
	History  []sinks.Attempt `json:"history,omitempty"`
}

// migrateLegacyLog enqueues every message of the earlier async log at path
// with its attempts and history, consuming each line only once it is in the
// queue: a crash midway moves a message twice at worst, never loses one.
func migrateLegacyLog(path string, q sinks.Queue, log *slog.Logger) error {
	if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	l, err := dletter.New(path, dletter.WithLogger(log))
	if err != nil {
		return fmt.Errorf("open the earlier async log: %w", err)
	}
	defer l.Close()
	if n, err := l.Count(dletter.RetryLog); err != nil || n == 0 {
		return err
	}
	moved := 0
	err = l.ReplayContext(context.Background(), func(ctx context.Context, payload []byte) error {
		var rec legacyRecord
		t := &sinks.Task{Sink: "unknown", Message: sinks.Message{Body: string(payload)}, DeadLetter: true,
			LastError: "undecodable record of the earlier async log"}
		if err := json.Unmarshal(payload, &rec); err == nil && rec.Sink != "" {
			t = &sinks.Task{Sink: rec.Sink, Recipient: rec.Recipient, Message: rec.Message,
				DeliveryID: rec.DeliveryID, EnqueuedAt: rec.AcceptedAt, Attempts: rec.Attempts, History: rec.History}
			if n := len(rec.History); n > 0 {
				t.FirstFailedAt, t.LastFailedAt, t.LastError = rec.History[0].At, rec.History[n-1].At, rec.History[n-1].Error
			}
		}
		if err := q.Enqueue(ctx, t); err != nil {
			return err
		}
		moved++
		return nil
	}, dletter.ReplayOptions{Backoff: func(int, time.Time, []byte) time.Duration { return 0 }})
	if err != nil {
		return fmt.Errorf("move the earlier async log into the queue: %w", err)
	}
	log.Info("moved the earlier async log into the queue", "messages", moved)
	return nil
}
