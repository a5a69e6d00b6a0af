package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dletter/dletter/sinks"
)

// TestListingLargeItemsStaysSmall: anyone who can send can plant large
// items. With 40 items of 4 MiB in the file DLQ, a page of 40 (from the
// API, the console and `dletter dlq ls`) carries 1 KiB previews, so the
// daemon's resident memory stays far below the 160 MiB the items weigh, and
// so does the answer; the item endpoint still gives a whole body.
func TestListingLargeItemsStaysSmall(t *testing.T) {
	const n, maxRSS, maxAnswer = 40, 200 << 20, 256 << 10
	data := t.TempDir()
	st, err := sinks.OpenFileDLQ(filepath.Join(data, "dlq"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("abcdefghi€", 4<<20/12) // 4 MiB, with 3-byte runes
	ctx := context.Background()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < n; i++ {
		it := sinks.DLQItem{Sink: "orders", At: start.Add(time.Duration(i) * time.Second), LastError: "503",
			Message: sinks.Message{Subject: "big " + strconv.Itoa(i), Body: body}}
		if _, err := st.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "--data", data)
	mem := watchMemory(t, d.cmd.Process.Pid)

	size, answer := d.get(t, "/v1/dlq/items?limit=40")
	var page struct {
		Items      []sinks.ItemPreview `json:"items"`
		NextCursor string              `json:"next_cursor"`
	}
	if err := json.Unmarshal(answer, &page); err != nil || len(page.Items) != n {
		t.Fatalf("page: %d items, %v", len(page.Items), err)
	}
	for _, p := range page.Items {
		b := p.Message.Body
		if !p.BodyTruncated || p.BodyBytes != len(body) || len(b) > 1024 || len(b) < 1022 || !utf8.ValidString(b) || !strings.HasPrefix(body, b) {
			t.Fatalf("item %s: a %d-byte preview (truncated %v, body_bytes %d), want 1 KiB of the %d-byte body cut between runes",
				p.ID, len(b), p.BodyTruncated, p.BodyBytes, len(body))
		}
	}
	if size > maxAnswer {
		t.Errorf("the page of %d items is %d bytes, want at most %d", n, size, maxAnswer)
	}
	// The console and the command list the same previews (only the newest
	// few here: every pass over the 160 MiB is slow under the race detector).
	recent := start.Add(37 * time.Second).Format(time.RFC3339)
	if size, page := d.get(t, "/items?since="+url.QueryEscape(recent)); size > maxAnswer || strings.Count(string(page), `href="/items/`) != 3 {
		t.Errorf("the console's list is %d bytes:\n%s", size, page)
	}
	out, errOut, code := run(t, "dlq", "ls", "--dlq", d.URL, "--since", recent, "-o", "json")
	if code != 0 || len(out) > maxAnswer || strings.Count(out, `"body_truncated": true`) != 3 || strings.Contains(out, body[:2000]) {
		t.Errorf("dlq ls: %d, %d bytes %s", code, len(out), errOut)
	}
	if peak := mem.peak(); peak > maxRSS {
		t.Errorf("the daemon's resident memory reached %d MB listing %d items of 4 MiB, want under %d MB", peak>>20, n, maxRSS>>20)
	} else {
		t.Logf("the daemon's resident memory peaked at %d MB", peak>>20)
	}

	// The whole body is one item away.
	var whole sinks.DLQItem
	if code := d.api("GET", "/v1/dlq/items/"+page.Items[0].ID, "", &whole); code != 200 || whole.Message.Body != body {
		t.Fatalf("item endpoint: %d, a %d-byte body", code, len(whole.Message.Body))
	}
}

// get fetches path and returns the answer's size and bytes.
func (d *daemon) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	res, err := http.Get(d.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return len(b), b
}

// memWatch follows a process's resident memory: its kernel-kept peak
// (VmHWM, reset when the watch starts) and samples of VmRSS.
type memWatch struct {
	pid  int
	mu   sync.Mutex
	max  int64
	stop chan struct{}
	done chan struct{}
}

func watchMemory(t *testing.T, pid int) *memWatch {
	t.Helper()
	if _, err := statusKB(pid, "VmRSS"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	// Writing 5 to clear_refs resets VmHWM to the current size (Linux 4.0).
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak, sampling only: %v", err)
	}
	m := &memWatch{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			m.sample("VmRSS")
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(m.end)
	return m
}

func (m *memWatch) sample(field string) {
	if kb, err := statusKB(m.pid, field); err == nil {
		m.mu.Lock()
		m.max = max(m.max, kb<<10)
		m.mu.Unlock()
	}
}

func (m *memWatch) end() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// peak stops the watch and returns the largest resident size seen, in bytes.
func (m *memWatch) peak() int64 {
	m.end()
	m.sample("VmHWM")
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.max
}

// statusKB reads a "kB" field of /proc/<pid>/status.
func statusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
