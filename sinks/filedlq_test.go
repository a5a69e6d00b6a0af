package sinks_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/dlqtest"
)

func openFile(t *testing.T, dir string, opts ...sinks.StoreOption) *sinks.FileDLQ {
	t.Helper()
	f, err := sinks.OpenFileDLQ(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestFileDLQConformance(t *testing.T) {
	for _, d := range []dletter.Durability{dletter.SurvivesCrash, dletter.SurvivesPowerLoss, dletter.SyncedPeriodically} {
		t.Run(d.String(), func(t *testing.T) {
			dlqtest.Run(t, func(t *testing.T) sinks.Store {
				return openFile(t, t.TempDir(), sinks.WithMaxItems(-1), sinks.WithDurability(d))
			})
		})
	}
}

// TestFileDLQConformanceAfterReopen runs the suite on stores that were
// written, closed and reopened, so that what the suite reads comes from the
// index rebuilt from disk.
func TestFileDLQConformanceAfterReopen(t *testing.T) {
	dlqtest.Run(t, func(t *testing.T) sinks.Store {
		dir := t.TempDir()
		f, err := sinks.OpenFileDLQ(dir)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := f.Add(context.Background(), sinks.DLQItem{Sink: "warmup"})
		_ = f.Discard(context.Background(), id)
		_ = f.Close()
		return openFile(t, dir)
	})
}

func fileItem(sink string, i int) sinks.DLQItem {
	return sinks.DLQItem{
		Sink: sink, At: time.Unix(1_700_000_000+int64(i), 0).UTC(),
		Recipient: map[string]string{"to": "user" + strconv.Itoa(i) + "@example.com"},
		Message:   sinks.Message{Subject: "item " + strconv.Itoa(i), Body: strings.Repeat("x", i%50)},
		Attempts:  1, LastError: "boom " + strconv.Itoa(i),
	}
}

func TestFileDLQSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := sinks.OpenFileDLQ(dir, sinks.WithMaxItems(5), sinks.WithOverflow(sinks.OverflowDropOldest))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 7; i++ { // 2 dropped by the overflow policy
		id, err := f.Add(ctx, fileItem([]string{"a", "b"}[i%2], i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_ = f.Discard(ctx, ids[3])
	it, _ := f.Get(ctx, ids[4])
	it.Replays, it.LastError = 3, "updated"
	if err := f.Update(ctx, it); err != nil {
		t.Fatal(err)
	}
	before, _ := f.Items(ctx, "", 0)
	beforeStats, _ := f.Stats(ctx)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	g := openFile(t, dir, sinks.WithMaxItems(5), sinks.WithOverflow(sinks.OverflowDropOldest))
	after, err := g.Items(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after reopen:\n%v\nwant\n%v", after, before)
	}
	st, _ := g.Stats(ctx)
	if st.Items != 4 || st.Dropped != 2 || st.Dropped != beforeStats.Dropped || st.BySink["a"] != 3 {
		t.Fatalf("stats after reopen %+v (before %+v)", st, beforeStats)
	}
	if got, _ := g.Get(ctx, ids[4]); got.Replays != 3 || got.LastError != "updated" {
		t.Fatalf("update lost: %+v", got)
	}
	if _, err := g.Get(ctx, ids[3]); !errors.Is(err, sinks.ErrNotFound) {
		t.Fatalf("discard lost: %v", err)
	}
	// IDs keep growing across restarts.
	id, _ := g.Add(ctx, fileItem("a", 9))
	if n, _ := strconv.Atoi(id); n <= 7 {
		t.Fatalf("new ID %s reuses an old one", id)
	}
}

func TestFileDLQLock(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir)
	if _, err := sinks.OpenFileDLQ(dir); !errors.Is(err, sinks.ErrLocked) {
		t.Fatalf("second open = %v, want ErrLocked", err)
	}
	_ = f.Close()
	g := openFile(t, dir)
	_ = g.Close()
}

func TestFileDLQOverflowReject(t *testing.T) {
	ctx := context.Background()
	f := openFile(t, t.TempDir(), sinks.WithMaxItems(2))
	for i := 0; i < 2; i++ {
		if err := f.Push(ctx, fileItem("a", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Push(ctx, fileItem("a", 3)); !errors.Is(err, sinks.ErrDLQOverflow) {
		t.Fatalf("push into a full DLQ = %v", err)
	}
}

func TestFileDLQRepairsTornTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, _ := sinks.OpenFileDLQ(dir)
	for i := 0; i < 3; i++ {
		_ = f.Push(ctx, fileItem("a", i))
	}
	_ = f.Close()
	log := filepath.Join(dir, "dlq.log")
	appendBytes(t, log, `{"op":"add","seq":4,"at":1,"sink":"a","crc":1,"item":{"sink":"a","mess`) // a crash mid-write

	g := openFile(t, dir)
	if n, _ := g.Count(ctx, ""); n != 3 {
		t.Fatalf("%d items after repair, want 3", n)
	}
	if st, _ := g.Stats(ctx); st.Quarantined != 1 {
		t.Fatalf("stats %+v: want the torn tail counted", st)
	}
	torn, err := os.ReadFile(filepath.Join(dir, "dlq.log.torn"))
	if err != nil || !strings.Contains(string(torn), `"mess`) {
		t.Fatalf("torn tail not kept: %q, %v", torn, err)
	}
	if err := g.Push(ctx, fileItem("a", 5)); err != nil {
		t.Fatal(err)
	}
	_ = g.Close()
	h := openFile(t, dir)
	if n, _ := h.Count(ctx, ""); n != 4 {
		t.Fatalf("%d items after writing past the repair, want 4", n)
	}
}

func TestFileDLQQuarantinesDamagedRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, _ := sinks.OpenFileDLQ(dir)
	for i := 0; i < 5; i++ {
		_ = f.Push(ctx, fileItem("a", i))
	}
	_ = f.Close()
	log := filepath.Join(dir, "dlq.log")
	data, _ := os.ReadFile(log)
	lines := strings.SplitAfter(string(data), "\n")
	lines[1] = strings.Replace(lines[1], "item 1", "itex 1", 1) // a flipped byte: CRC mismatch
	lines[3] = "\x00\x00\x00\x00 zeroed block\n"
	if err := os.WriteFile(log, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}

	g := openFile(t, dir)
	items, err := g.Items(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, it := range items {
		subjects = append(subjects, it.Message.Subject)
	}
	if fmt.Sprint(subjects) != "[item 4 item 2 item 0]" {
		t.Fatalf("items %v", subjects)
	}
	if st, _ := g.Stats(ctx); st.Quarantined != 2 {
		t.Fatalf("stats %+v", st)
	}
	bad, _ := os.ReadFile(filepath.Join(dir, "dlq.log.bad"))
	if !strings.Contains(string(bad), "itex 1") || !strings.Contains(string(bad), "zeroed block") {
		t.Fatalf("damaged records not kept: %q", bad)
	}
	// Set aside once: a second open finds a clean log.
	_ = g.Close()
	h := openFile(t, dir)
	if st, _ := h.Stats(ctx); st.Quarantined != 0 || st.Items != 3 {
		t.Fatalf("second open %+v", st)
	}
}

func TestFileDLQCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openFile(t, dir)
	var ids []string
	for i := 0; i < 200; i++ {
		id, _ := f.Add(ctx, fileItem("a", i))
		ids = append(ids, id)
	}
	for _, id := range ids[50:] { // including the newest
		if err := f.Discard(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	big, _ := f.Stats(ctx)
	if err := f.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	small, _ := f.Stats(ctx)
	if small.Bytes >= big.Bytes/3 || small.Items != 50 {
		t.Fatalf("compaction: %d bytes -> %d, %d items", big.Bytes, small.Bytes, small.Items)
	}
	before, _ := f.Items(ctx, "", 0)
	id, _ := f.Add(ctx, fileItem("a", 1000))
	if n, _ := strconv.Atoi(id); n <= 200 {
		t.Fatalf("ID %s reused after compaction", id)
	}
	_ = f.Discard(ctx, id)
	_ = f.Close()

	g := openFile(t, dir)
	after, _ := g.Items(ctx, "", 0)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("items changed by compaction and reopen")
	}
	id, _ = g.Add(ctx, fileItem("a", 1001))
	if n, _ := strconv.Atoi(id); n <= 201 {
		t.Fatalf("ID %s reused after compaction and reopen", id)
	}
	// A leftover temporary file of an interrupted compaction is ignored.
	_ = g.Close()
	if err := os.WriteFile(filepath.Join(dir, "dlq.log.tmp"), []byte("half a compaction"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := openFile(t, dir)
	if n, _ := h.Count(ctx, ""); n != 51 {
		t.Fatalf("%d items", n)
	}
}

// addItems adds n items of sink "a" to f and returns their ids.
func addItems(t *testing.T, f sinks.Store, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		id, err := f.Add(context.Background(), fileItem("a", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func appendBytes(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// The crash test re-executes the test binary as a child that writes to a
// FileDLQ and reports each acknowledged write on stdout; the parent kills it
// with SIGKILL mid-stream and checks that every acknowledged write is there.
const (
	crashEnv        = "DLETTER_FILEDLQ_CRASH_DIR"
	crashCompactEnv = "DLETTER_FILEDLQ_CRASH_COMPACT"
)

func TestFileDLQCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestFileDLQSurvivesSIGKILL")
	}
	ctx := context.Background()
	f, err := sinks.OpenFileDLQ(dir, sinks.WithMaxItems(-1))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	compacting := os.Getenv(crashCompactEnv) != ""
	if compacting {
		sinks.SetCompactionThreshold(f, 16<<10) // compact every few dozen writes
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		id, err := f.Add(ctx, fileItem("crash", i))
		if err != nil {
			fmt.Fprintln(out, "error:", err)
			_ = out.Flush()
			os.Exit(3)
		}
		fmt.Fprintln(out, "add", id)
		// Discard one item in three (two in three when compacting, so that
		// dead records outweigh live ones), and acknowledge it.
		if i%3 == 2 || (compacting && i%3 == 1) {
			victim := strconv.Itoa(i) // the ID of an earlier item
			fmt.Fprintln(out, "deleting", victim)
			_ = out.Flush()
			if err := f.Discard(ctx, victim); err != nil {
				os.Exit(4)
			}
			fmt.Fprintln(out, "del", victim)
		}
		_ = out.Flush()
	}
}

func TestFileDLQSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	t.Run("appending", func(t *testing.T) { crashRounds(t, false) })
	t.Run("compacting", func(t *testing.T) { crashRounds(t, true) })
}

// crashRounds kills a writing child three times and checks the DLQ after
// each; with compact, the child compacts its log every few dozen writes, so
// the kills land before, during and after compactions.
func crashRounds(t *testing.T, compact bool) {
	dir := t.TempDir()
	// deleting holds discards begun but maybe not acknowledged: either
	// outcome is right for those.
	added, deleted, deleting := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileDLQCrashChild$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		if compact {
			cmd.Env = append(cmd.Env, crashCompactEnv+"=1")
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		acks := 0
		for sc.Scan() {
			op, id, _ := strings.Cut(sc.Text(), " ")
			switch op {
			case "add":
				added[id] = true
			case "del":
				deleted[id] = true
			case "deleting":
				deleting[id] = true
			default:
				t.Fatalf("child: %s", sc.Text())
			}
			if acks++; acks == 300+round*137 {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		for sc.Scan() { // drain what the child wrote before it died
			op, id, _ := strings.Cut(sc.Text(), " ")
			if op == "add" {
				added[id] = true
			} else if op == "del" {
				deleted[id] = true
			} else if op == "deleting" {
				deleting[id] = true
			}
		}
		_ = cmd.Wait()

		f, err := sinks.OpenFileDLQ(dir, sinks.WithMaxItems(-1))
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		ctx := context.Background()
		for id := range added {
			_, err := f.Get(ctx, id)
			switch {
			case deleted[id] && err == nil:
				t.Errorf("round %d: discarded item %s is back", round, id)
			case !deleted[id] && !deleting[id] && err != nil:
				t.Errorf("round %d: acknowledged item %s lost: %v", round, id, err)
			}
		}
		_ = f.Close()
		if t.Failed() {
			return
		}
	}
	if len(added) < 400 {
		t.Fatalf("only %d acknowledged adds", len(added))
	}
	if compact { // a compacted log starts with its meta record
		head := make([]byte, 12)
		fh, err := os.Open(filepath.Join(dir, "dlq.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if _, err := fh.Read(head); err != nil || string(head) != `{"op":"meta"` {
			t.Fatalf("the child never compacted: log starts with %q", head)
		}
	}
}

func TestFileDLQLongScanInChunks(t *testing.T) {
	ctx := context.Background()
	f := openFile(t, t.TempDir(), sinks.WithMaxItems(-1))
	var want []string
	for i := 0; i < 3000; i++ {
		it := fileItem([]string{"a", "b"}[i%2], i)
		if i%450 == 0 {
			it.LastError = "needle"
		}
		id, err := f.Add(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		if i%450 == 0 {
			want = append([]string{id}, want...)
		}
	}
	items, next, err := f.List(ctx, sinks.Filter{Contains: "NEEDLE"}, "", 0)
	if err != nil || next != "" {
		t.Fatal(err, next)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Paging by 2 across the chunks gives the same.
	got = nil
	cursor := ""
	for {
		page, next, err := f.List(ctx, sinks.Filter{Contains: "needle"}, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page {
			got = append(got, it.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged: got %v, want %v", got, want)
	}
}

func TestFileDLQRejectsBadOptions(t *testing.T) {
	for _, opt := range []sinks.StoreOption{sinks.WithDurability(dletter.Durability(9)), sinks.WithOverflow(sinks.OverflowPolicy(7))} {
		if _, err := sinks.OpenFileDLQ(t.TempDir(), opt); !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Errorf("got %v", err)
		}
	}
	if _, err := sinks.OpenFileDLQ(""); !errors.Is(err, sinks.ErrInvalidArgument) {
		t.Errorf("empty dir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(file, nil, 0o644)
	if _, err := sinks.OpenFileDLQ(file); err == nil {
		t.Error("opened a DLQ in a regular file")
	}
}

// TestFileDLQWritesDuringCompaction writes, updates and discards between
// the two phases of a compaction, so that those records come from the
// tail the compaction copies after its snapshot.
func TestFileDLQWritesDuringCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openFile(t, dir, sinks.WithMaxItems(3), sinks.WithOverflow(sinks.OverflowDropOldest))
	var ids []string
	for i := 0; i < 3; i++ {
		id, _ := f.Add(ctx, fileItem("a", i))
		ids = append(ids, id)
	}
	var added string
	sinks.SetAfterSnapshot(f, func() {
		it, _ := f.Get(ctx, ids[2])
		it.LastError = "updated during compaction"
		if err := f.Update(ctx, it); err != nil {
			t.Error(err)
		}
		if err := f.Discard(ctx, ids[1]); err != nil {
			t.Error(err)
		}
		added, _ = f.Add(ctx, fileItem("b", 7))
		// Full again: drops the oldest, a record of the tail too.
		if _, err := f.Add(ctx, fileItem("b", 8)); err != nil {
			t.Error(err)
		}
	})
	if err := f.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	sinks.SetAfterSnapshot(f, nil)
	check := func(what string, st *sinks.FileDLQ) {
		t.Helper()
		items, err := st.Items(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.ID+":"+it.Message.Subject+":"+it.LastError)
		}
		want := fmt.Sprintf("[%d:item 8:boom 8 %s:item 7:boom 7 %s:item 2:updated during compaction]", 5, added, ids[2])
		if fmt.Sprint(got) != want {
			t.Fatalf("%s: %v, want %s", what, got, want)
		}
		if s, _ := st.Stats(ctx); s.Dropped != 1 || s.Items != 3 {
			t.Fatalf("%s: stats %+v", what, s)
		}
	}
	check("after compaction", f)
	// The log starts with the compaction's meta record.
	head, _ := os.ReadFile(filepath.Join(dir, "dlq.log"))
	if !strings.HasPrefix(string(head), `{"op":"meta"`) {
		t.Fatalf("log not compacted: %.40q", head)
	}
	_ = f.Close()
	check("after reopen", openFile(t, dir, sinks.WithMaxItems(3), sinks.WithOverflow(sinks.OverflowDropOldest)))
}

// TestFileDLQDamageTable cuts and damages a log in the ways a crash or a
// bad disk does; every open must succeed, keep every record before the
// damage, set the damage aside, and take new writes.
func TestFileDLQDamageTable(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	f, _ := sinks.OpenFileDLQ(src)
	for i := 0; i < 20; i++ {
		_ = f.Push(ctx, fileItem("a", i))
	}
	_ = f.Close()
	orig, err := os.ReadFile(filepath.Join(src, "dlq.log"))
	if err != nil {
		t.Fatal(err)
	}
	lineEnds := []int{}
	for i, c := range orig {
		if c == '\n' {
			lineEnds = append(lineEnds, i+1)
		}
	}
	cases := []struct {
		name   string
		damage func([]byte) []byte
		keep   int // items that must survive, the oldest ones
	}{
		{"empty file", func(b []byte) []byte { return nil }, 0},
		{"cut after a record", func(b []byte) []byte { return b[:lineEnds[9]] }, 10},
		{"cut mid record", func(b []byte) []byte { return b[:lineEnds[9]+17] }, 10},
		{"cut before the last newline", func(b []byte) []byte { return b[:len(b)-1] }, 19},
		{"zeroed block at the end", func(b []byte) []byte {
			out := append([]byte(nil), b...)
			for i := lineEnds[17]; i < len(out); i++ {
				out[i] = 0
			}
			return out
		}, 17},
		{"garbage line in the middle", func(b []byte) []byte {
			out := append([]byte(nil), b[:lineEnds[4]]...)
			out = append(out, "not a record at all\n"...)
			return append(out, b[lineEnds[4]:]...)
		}, 20},
		{"giant line", func(b []byte) []byte {
			out := append([]byte(nil), b...)
			return append(append(out, strings.Repeat("x", 3<<20)...), '\n')
		}, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "dlq.log"), c.damage(orig), 0o644); err != nil {
				t.Fatal(err)
			}
			g := openFile(t, dir)
			items, err := g.Items(ctx, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) < c.keep {
				t.Fatalf("%d items survived, want at least %d", len(items), c.keep)
			}
			for i := 0; i < c.keep; i++ { // oldest first
				if got := items[len(items)-1-i].Message.Subject; got != "item "+strconv.Itoa(i) {
					t.Fatalf("item %d is %q", i, got)
				}
			}
			if err := g.Push(ctx, fileItem("a", 99)); err != nil {
				t.Fatal(err)
			}
			n, _ := g.Count(ctx, "")
			_ = g.Close()
			h := openFile(t, dir)
			if m, _ := h.Count(ctx, ""); m != n {
				t.Fatalf("%d items after a second open, %d before", m, n)
			}
		})
	}
}

// A compaction that fails after the write that triggered it succeeded loses
// nothing and is reported through the store's logger, not dropped.
func TestFileDLQReportsFailedCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logged bytes.Buffer
	f := openFile(t, dir, sinks.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	sinks.SetCompactionThreshold(f, 1)
	// The compaction's temporary file cannot be created where a directory
	// stands.
	if err := os.Mkdir(filepath.Join(dir, "dlq.log.tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	ids := addItems(t, f, 20)
	for _, id := range ids[:15] {
		if err := f.Discard(ctx, id); err != nil {
			t.Fatalf("Discard %s: %v (a failed compaction must not fail the write)", id, err)
		}
	}
	if !strings.Contains(logged.String(), "compaction failed") {
		t.Fatalf("failed compaction not reported; log: %q", logged.String())
	}
	if n, _ := f.Count(ctx, ""); n != 5 {
		t.Fatalf("Count = %d after a failed compaction, want 5", n)
	}
}
