package dletter

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogWritesSeedEnvelope(t *testing.T) {
	b := setup(t)
	before := time.Now().Unix()
	if err := Log(b.l, &order{ID: `ord-"42"`}, errors.New("db\ntimeout"), 2); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	ls := lines(t, b.path)
	if len(ls) != 1 {
		t.Fatalf("%d lines, want 1", len(ls))
	}
	var env Envelope
	if err := json.Unmarshal([]byte(ls[0]), &env); err != nil {
		t.Fatalf("line %q does not decode into an Envelope: %v", ls[0], err)
	}
	if env.Timestamp < before || env.Timestamp > after || env.Attempt != 2 || env.Reason != "db\ntimeout" {
		t.Fatalf("envelope %+v", env)
	}
	var o order
	if err := json.Unmarshal(env.Payload, &o); err != nil || o.ID != `ord-"42"` {
		t.Fatalf("payload %s: %v", env.Payload, err)
	}
	var extra struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(ls[0]), &extra)
	if len(extra.ID) != 16 {
		t.Fatalf("id %q, want 16 hex digits", extra.ID)
	}
}

func TestLogDataKinds(t *testing.T) {
	b := setup(t)
	type plain struct {
		N int `json:"n"`
	}
	cases := []struct {
		name string
		log  func() error
		want string
	}{
		{"RawPayload", func() error { return Log(b.l, RawPayload(`{"a":1}`), errTest, 1) }, `{"a":1}`},
		{"json.RawMessage", func() error { return Log(b.l, json.RawMessage(`[1,2]`), errTest, 1) }, `[1,2]`},
		{"struct via json.Marshal", func() error { return Log(b.l, plain{N: 3}, errTest, 1) }, `{"n":3}`},
		{"value Loggable", func() error { return Log(b.l, valueOrder{ID: "v"}, errTest, 1) }, `{"id":"v"}`},
		{"multi-line JSON is compacted", func() error { return Log(b.l, RawPayload("{\n  \"a\": 1\n}"), errTest, 1) }, `{"a":1}`},
		{"string", func() error { return Log(b.l, "text", errTest, 1) }, `"text"`},
	}
	for i, tc := range cases {
		if err := tc.log(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ls := lines(t, b.path)
		var env Envelope
		if err := json.Unmarshal([]byte(ls[i]), &env); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(env.Payload) != tc.want {
			t.Fatalf("%s: payload %s, want %s", tc.name, env.Payload, tc.want)
		}
	}
}

func TestLogRejectsInvalidPayload(t *testing.T) {
	b := setup(t)
	for _, p := range []string{``, `{"id":"unterminated}`, `{"a":1} {"b":2}`, `nope`} {
		err := Log(b.l, RawPayload(p), errTest, 1)
		if !errors.Is(err, ErrInvalidPayload) {
			t.Fatalf("Log(%q) = %v, want ErrInvalidPayload", p, err)
		}
	}
	if err := Log(b.l, func() {}, errTest, 1); err == nil {
		t.Fatal("Log of a func succeeded")
	}
	if fi, _ := os.Stat(b.path); fi.Size() != 0 {
		t.Fatalf("rejected items left %d bytes", fi.Size())
	}
}

func TestLogOddArguments(t *testing.T) {
	b := setup(t)
	for _, attempt := range []int{-5, 0, math.MaxInt} {
		if err := Log(b.l, RawPayload(`1`), nil, attempt); err != nil {
			t.Fatal(err)
		}
	}
	var got []int
	for _, ln := range lines(t, b.path) {
		var env Envelope
		if err := json.Unmarshal([]byte(ln), &env); err != nil {
			t.Fatal(err)
		}
		if env.Reason != "" {
			t.Fatalf("nil reason stored as %q", env.Reason)
		}
		got = append(got, env.Attempt)
	}
	if got[0] != 0 || got[1] != 0 || got[2] != math.MaxInt32 {
		t.Fatalf("attempts %v, want [0 0 MaxInt32]", got)
	}
	if err := Log[RawPayload](nil, nil, nil, 1); !errors.Is(err, ErrNilLogger) {
		t.Fatalf("nil logger: %v", err)
	}
	if err := LogPermanent[RawPayload](nil, nil, ""); !errors.Is(err, ErrNilLogger) {
		t.Fatalf("nil logger: %v", err)
	}
}

func TestLogPermanent(t *testing.T) {
	b := setup(t)
	if err := LogPermanent(b.l, &order{ID: "p"}, "card declined"); err != nil {
		t.Fatal(err)
	}
	ls := lines(t, filepath.Join(b.dir, "permanent-orders.log"))
	var env Envelope
	if len(ls) != 1 || json.Unmarshal([]byte(ls[0]), &env) != nil || env.Reason != "card declined" || string(env.Payload) != `{"id":"p"}` {
		t.Fatalf("permanent log %q", ls)
	}
	if strings.Contains(ls[0], `"attempt"`) {
		t.Fatalf("LogPermanent wrote an attempt: %s", ls[0])
	}
}

func TestLogConcurrent(t *testing.T) {
	b := setup(t, WithMaxSize(1)) // rotate every MB while writing
	const writers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logN(t, b.l, w*each, each, 1)
		}()
	}
	wg.Wait()
	n, err := b.l.Count(RetryLog)
	if err != nil || n != writers*each {
		t.Fatalf("Count = %d, %v; want %d", n, err, writers*each)
	}
}

func TestLogAfterClose(t *testing.T) {
	b := setup(t)
	if err := b.l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := Log(b.l, RawPayload(`1`), errTest, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Log after Close: %v", err)
	}
	if err := LogPermanent(b.l, RawPayload(`1`), ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("LogPermanent after Close: %v", err)
	}
	if err := b.l.Rotate(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Rotate after Close: %v", err)
	}
	if _, err := b.l.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
}

func TestNewLocksTheLog(t *testing.T) {
	b := setup(t)
	if _, err := New(b.path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second New on the same log: %v, want ErrLocked", err)
	}
	// Another log in the same directory is independent.
	other, err := New(filepath.Join(b.dir, "payments.log"))
	if err != nil {
		t.Fatalf("second log in the same directory: %v", err)
	}
	_ = other.Close()
	b.reopen(t) // the lock is released by Close
}

func TestNewCreatesDirectoryAndValidatesOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	l, err := New(filepath.Join(dir, "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	for _, o := range []Option{WithMaxBackups(-1), WithMaxAge(-1), WithDurability(Durability(9)), WithSyncInterval(0)} {
		_, err := New(filepath.Join(dir, "y.log"), o)
		if err == nil || !strings.HasPrefix(err.Error(), "dletter: With") {
			t.Fatalf("invalid option accepted or badly reported: %v", err)
		}
	}
	if _, err := New(""); err == nil {
		t.Fatal("New with an empty filename succeeded")
	}
}

func TestDurabilityModes(t *testing.T) {
	for _, o := range []Option{WithDurability(SurvivesPowerLoss), WithSyncInterval(1), WithDurability(SyncedPeriodically)} {
		b := setup(t, o)
		logN(t, b.l, 0, 50, 1)
		b.reopen(t)
		c := &collector{}
		replayAll(t, b.l, c, ReplayOptions{})
		if !equal(c.got(), wantIDs(0, 50)) {
			t.Fatalf("got %d items", len(c.got()))
		}
	}
}

func TestFilesArePrivate(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 1, 1)
	if err := LogPermanent(b.l, RawPayload(`1`), "x"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orders.log", "permanent-orders.log"} {
		fi, err := os.Stat(filepath.Join(b.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestNewItemsGetDistinctIDs(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 1000, 1)
	seen := map[string]bool{}
	for _, id := range itemIDs(t, b.l, RetryLog) {
		if len(id) != 16 || seen[id] {
			t.Fatalf("id %q is malformed or repeated", id)
		}
		seen[id] = true
	}
}
