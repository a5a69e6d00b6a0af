package dletter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/checkpoint"
)

// bundle is what most tests need.
type bundle struct {
	dir  string
	path string
	logs *bytes.Buffer
	l    *Logger
}

// quietLogger returns a slog.Logger writing into buf.
func quietLogger(buf *bytes.Buffer) *slog.Logger {
	var mu sync.Mutex
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, buf}, nil))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// setup opens a Logger in a fresh directory with no compression and its
// log lines captured. A test that moves time calls it inside a
// testing/synctest bubble.
func setup(t *testing.T, opts ...Option) *bundle {
	t.Helper()
	dir := t.TempDir()
	b := &bundle{dir: dir, path: filepath.Join(dir, "orders.log"), logs: &bytes.Buffer{}}
	b.l = b.open(t, opts...)
	return b
}

func (b *bundle) open(t *testing.T, opts ...Option) *Logger {
	t.Helper()
	all := append([]Option{WithCompress(false), WithLogger(quietLogger(b.logs))}, opts...)
	l, err := New(b.path, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// reopen closes the bundle's Logger and opens a new one on the same files.
func (b *bundle) reopen(t *testing.T, opts ...Option) {
	t.Helper()
	if err := b.l.Close(); err != nil {
		t.Fatal(err)
	}
	b.l = b.open(t, opts...)
}

type order struct {
	ID string `json:"id"`
}

func (o *order) AppendLog(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	b, _ := json.Marshal(o.ID)
	buf = append(buf, b...)
	return append(buf, '}')
}

func logN(t *testing.T, l *Logger, from, n int, attempt int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := Log(l, &order{ID: id(i)}, errTest, attempt); err != nil {
			t.Fatal(err)
		}
	}
}

var errTest = errorString("db timeout")

type errorString string

func (e errorString) Error() string { return string(e) }

func id(i int) string { return "ord-" + strings.Repeat("0", 6-len(itoa(i))) + itoa(i) }

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// collector is a Handler that records what it was given.
type collector struct {
	mu   sync.Mutex
	ids  []string
	fail func(id string) error
	n    atomic.Int64
}

func (c *collector) handle(p []byte) error {
	var o order
	if err := json.Unmarshal(p, &o); err != nil {
		return err
	}
	c.n.Add(1)
	if c.fail != nil {
		if err := c.fail(o.ID); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.ids = append(c.ids, o.ID)
	c.mu.Unlock()
	return nil
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

func wantIDs(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, id(i))
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func replayAll(t *testing.T, l *Logger, c *collector, opts ReplayOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Replay(ctx, c.handle, opts); err != nil {
		t.Fatalf("Replay: %v", err)
	}
}

// lines returns the lines of a file, plain or gzip-compressed.
func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// files lists the names in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// seedLine is a line as go-dletter v0.2.0 writes it.
func seedLine(ts int64, attempt int, reason, payload string) string {
	r, _ := json.Marshal(reason)
	return `{"ts":` + itoa(int(ts)) + `,"attempt":` + itoa(attempt) + `,"reason":` + string(r) + `,"payload":` + payload + "}\n"
}

// writeSeedState writes a 16-byte state file as go-dletter does.
func writeSeedState(t *testing.T, path string, line uint64) {
	t.Helper()
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b, line)
	binary.LittleEndian.PutUint64(b[8:], line^checkpoint.Magic)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(content))
	_ = zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
