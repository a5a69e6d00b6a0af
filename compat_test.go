package dletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// reservation is a plain struct, serialised with json.Marshal, as most
// go-dletter users log.
type reservation struct {
	Type string `json:"type"`
	Qty  int    `json:"qty"`
}

// Replay behaves as go-dletter's did where it was right: attempt 0 items are
// retried, a failing item lands back in the active retry file, an exhausted
// one in the permanent file.
func TestSeedReplaySemantics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "replay.log")
	l, err := New(path, WithLogger(quietLogger(new(bytes.Buffer))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, r := range []struct {
		typ     string
		attempt int
	}{{"ok_1", 0}, {"retry_fail", 0}, {"gone_fail", 3}, {"ok_4", 0}, {"ok_5", 0}} {
		if err := Log(l, reservation{Type: r.typ, Qty: 10}, errors.New("err"), r.attempt); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int32
	err = l.Replay(context.Background(), func(p []byte) error {
		calls.Add(1)
		if strings.Contains(string(p), "fail") {
			return errors.New("fail again")
		}
		return nil
	}, ReplayOptions{MaxAttempts: 3, InitialWait: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Fatalf("handler called %d times, want 4", calls.Load())
	}
	active := lines(t, path)
	if len(active) != 1 || !strings.Contains(active[0], "retry_fail") || !strings.Contains(active[0], `"attempt":1`) {
		t.Fatalf("active retry file %q", active)
	}
	perm := lines(t, filepath.Join(dir, "permanent-replay.log"))
	if len(perm) != 1 || !strings.Contains(perm[0], "gone_fail") {
		t.Fatalf("permanent file %q", perm)
	}
}

// A handler that cancels the context stops Replay after that item with
// context.Canceled itself, not a wrapper: go-dletter's users compare with ==.
func TestSeedReplayCancel(t *testing.T) {
	b := setup(t)
	logN(t, b.l, 0, 2, 0)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := b.l.Replay(ctx, func([]byte) error { calls.Add(1); cancel(); return nil }, ReplayOptions{})
	if err != context.Canceled {
		t.Fatalf("Replay = %v, want context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("handler called %d times, want 1", calls.Load())
	}
}

// AppendJSONString writes the bytes go-dletter v0.2.0's escaper wrote (its
// cases, quoted), so golden files and greps of old lines keep matching; each
// result is a JSON string that decodes to the input (invalid UTF-8 as
// U+FFFD).
func TestAppendJSONStringSeedEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`hello "world"`, `"hello \"world\""`},
		{`foo\bar`, `"foo\\bar"`},
		{"line1\nline2", `"line1\nline2"`},
		{"normal string", `"normal string"`},
		{"tab\there", `"tab\there"`},
		{"cr\rhere", `"cr\rhere"`},
		{"\bbackspace\f", `"\bbackspace\f"`},
		{"\x01\x02\x1f", `"\u0001\u0002\u001f"`},
		{"\x00\x07\x0b\x0e\x7f", `"\u0000\u0007\u000b\u000e` + "\x7f" + `"`},
		{"valid utf8 \u4e16\u754c", "\"valid utf8 \u4e16\u754c\""},
		{"invalid utf8 \x80\xff", `"invalid utf8 \ufffd\ufffd"`},
		{"", `""`},
	} {
		got := AppendJSONString([]byte("x"), tc.in)
		if string(got) != "x"+tc.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tc.in, got[1:], tc.want)
			continue
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Errorf("%s does not decode: %v", got[1:], err)
			continue
		}
		var want string // what encoding/json makes of the input: each invalid byte a U+FFFD
		if b, err := json.Marshal(tc.in); err != nil || json.Unmarshal(b, &want) != nil {
			t.Fatalf("encoding/json cannot round-trip %q", tc.in)
		}
		if back != want {
			t.Errorf("%s decodes to %q, want %q", got[1:], back, want)
		}
	}
}
