package relay

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/sinks"
)

// testSink delivers every message except those whose subject it was told
// to fail, and can hold each Send until released.
type testSink struct {
	mu    sync.Mutex
	fail  map[string]bool
	sent  []string
	hold  chan struct{} // when not nil, Send waits for a value
	entry chan struct{} // when not nil, Send signals it was called
}

func (s *testSink) Name() string { return "hook" }

func (s *testSink) Send(ctx context.Context, _ sinks.Recipient, m sinks.Message) error {
	if s.entry != nil {
		s.entry <- struct{}{}
	}
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m.Subject)
	if s.fail[m.Subject] {
		return sinks.Terminal(errors.New("the receiver says 503"))
	}
	return nil
}

func (s *testSink) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// bundle is a Relay over a memory DLQ, the test sink and an audit log.
type bundle struct {
	r     *Relay
	store sinks.Store
	sink  *testSink
	audit *audit.Log
	path  string // the audit log's
}

type setupOpts struct {
	readOnly bool
	fullDisk bool // the audit log is /dev/full: every write fails
}

func setup(t *testing.T, o setupOpts) *bundle {
	t.Helper()
	b := &bundle{store: sinks.NewMemoryDLQ(), sink: &testSink{fail: map[string]bool{}},
		path: filepath.Join(t.TempDir(), "audit.log")}
	if o.fullDisk {
		if _, err := os.Stat("/dev/full"); err != nil {
			t.Skip("no /dev/full here")
		}
		if err := os.Symlink("/dev/full", b.path); err != nil {
			t.Fatal(err)
		}
	}
	reg := sinks.NewRegistry(sinks.WithDLQ(b.store))
	if err := reg.Register(b.sink); err != nil {
		t.Fatal(err)
	}
	var err error
	if b.audit, err = audit.Open(b.path); err != nil {
		t.Fatal(err)
	}
	b.r = New(Options{Store: b.store, Sinks: reg, Audit: b.audit, ReadOnly: o.readOnly})
	t.Cleanup(func() {
		b.r.Close()
		_ = b.audit.Close()
		_ = b.store.Close()
	})
	return b
}

// add parks a message with subject in the DLQ and returns its id.
func (b *bundle) add(t *testing.T, subject string) string {
	t.Helper()
	id, err := b.store.Add(context.Background(), sinks.DLQItem{Sink: "hook", LastError: "503",
		Message: sinks.Message{Subject: subject, Body: "{}"}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *bundle) count(t *testing.T) int {
	t.Helper()
	n, err := b.store.Count(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// lines returns the audit log's lines, oldest first.
func (b *bundle) lines(t *testing.T) []audit.Entry {
	t.Helper()
	data, err := os.ReadFile(b.path)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// op returns the lines of the action whose start has action and target,
// checking that they are one start, then items, then one outcome.
func (b *bundle) op(t *testing.T, action, target string) (items []audit.Entry, end audit.Entry) {
	t.Helper()
	all := b.lines(t)
	id := ""
	for _, e := range all {
		if e.Phase == audit.PhaseStart && e.Action == action && e.Target == target {
			id = e.Op
		}
	}
	if id == "" {
		t.Fatalf("no start of %s %s in the audit log: %+v", action, target, all)
	}
	ended := false
	for _, e := range all {
		switch {
		case e.Op != id:
		case e.Phase == audit.PhaseItem:
			if ended {
				t.Fatalf("an item line after the outcome: %+v", e)
			}
			items = append(items, e)
		case e.Phase == "":
			if ended {
				t.Fatalf("two outcomes of op %s", id)
			}
			end, ended = e, true
		}
	}
	if !ended {
		t.Fatalf("no outcome of %s %s: %+v", action, target, all)
	}
	return items, end
}

// actor is who the tests say they are.
var actor = Actor{Name: "alice", Via: "api", Remote: "127.0.0.1"}
