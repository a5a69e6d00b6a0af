package dletter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash tests re-execute the test binary as a child process that logs or
// replays, and kill it with SIGKILL at a point chosen by the parent.
const (
	childEnv    = "DLETTER_CRASH_CHILD"
	childDirEnv = "DLETTER_CRASH_DIR"
	// childWaitEnv sets the replaying child's ReplayOptions.InitialWait.
	childWaitEnv = "DLETTER_CRASH_WAIT"
	// childConcurrencyEnv sets the replaying child's
	// ReplayOptions.Concurrency; its handler then takes up to 2 ms.
	childConcurrencyEnv = "DLETTER_CRASH_CONCURRENCY"
	// childFollowEnv makes the replaying child replay with Follow while a
	// goroutine logs this many new items, ord-<run·10⁶+i>, each printed as
	// "ack <id>" once Log returned; childRunEnv is the run number.
	childFollowEnv = "DLETTER_CRASH_FOLLOW"
	childRunEnv    = "DLETTER_CRASH_RUN"
)

func runChild(role string) {
	dir := os.Getenv(childDirEnv)
	var err error
	switch role {
	case "log":
		err = childLog(dir)
	case "replay":
		err = childReplay(dir)
	case "fsize":
		err = childFileSizeLimit(dir)
	case "hold":
		err = childHold(dir)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// childLog logs from four goroutines forever and prints "ack <id>" after each
// Log that returned nil.
func childLog(dir string) error {
	l, err := New(filepath.Join(dir, "orders.log"), WithMaxSize(1), WithCompress(true))
	if err != nil {
		return err
	}
	var out sync.Mutex
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				// A payload of varying size, sometimes large, so kills land
				// inside writes of every size.
				pad := strings.Repeat("x", (i*37)%3000)
				if err := Log(l, map[string]string{"id": id, "pad": pad}, errTest, 1); err != nil {
					errs <- err
					return
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %s\n", id)
				out.Unlock()
			}
		}()
	}
	return <-errs
}

// childReplay replays everything; the handler records each delivery in
// delivered.txt (one O_APPEND write(2) per id) and prints "d", and fails
// every fifth item once.
func childReplay(dir string) error {
	l, err := New(filepath.Join(dir, "orders.log"), WithCompress(false))
	if err != nil {
		return err
	}
	rec, err := os.OpenFile(filepath.Join(dir, "delivered.txt"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	var opts ReplayOptions
	if c := os.Getenv(childConcurrencyEnv); c != "" {
		if opts.Concurrency, err = strconv.Atoi(c); err != nil {
			return err
		}
	}
	handler := func(p []byte) error {
		if opts.Concurrency > 1 { // a delivery takes a while, so many overlap
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		}
		var o order
		if err := json.Unmarshal(p, &o); err != nil {
			return err
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(o.ID, "ord-"))
		marker := filepath.Join(dir, "failed-"+o.ID)
		if n%5 == 0 {
			if _, err := os.Stat(marker); err != nil {
				if err := os.WriteFile(marker, nil, 0o644); err != nil {
					return err
				}
				return fmt.Errorf("first try of %s fails", o.ID)
			}
		}
		if _, err := rec.Write([]byte(o.ID + "\n")); err != nil {
			return err
		}
		_, _ = os.Stdout.Write([]byte("d\n"))
		return nil
	}
	if w := os.Getenv(childWaitEnv); w != "" {
		if opts.InitialWait, err = time.ParseDuration(w); err != nil {
			return err
		}
		opts.MaxWait = 4 * opts.InitialWait
	}
	finished, logged := true, make(chan error, 1)
	if f := os.Getenv(childFollowEnv); f != "" {
		opts.Follow, finished = true, false
		if err := childWriter(l, f, logged); err != nil {
			return err
		}
	}
	for {
		idle := time.After(time.Millisecond) // while the writer has not logged more
		if finished {
			idle = nil
		}
		select {
		case err := <-logged:
			if err != nil {
				return err
			}
			finished = true
		default:
		}
		if err := l.Replay(context.Background(), handler, opts); err != nil {
			return err
		}
		n, err := l.Count(RetryLog)
		if err != nil {
			return err
		}
		if n == 0 && finished {
			fmt.Println("done")
			return l.Close()
		}
		if n == 0 && idle != nil {
			<-idle
		}
	}
}

// childWriter logs the items of childFollowEnv from a goroutine, a little
// apart, and sends the outcome to logged.
func childWriter(l *Logger, count string, logged chan<- error) error {
	items, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	run, err := strconv.Atoi(os.Getenv(childRunEnv))
	if err != nil {
		return err
	}
	go func() {
		for i := range items {
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
			id := fmt.Sprintf("ord-%d", (run+1)*1000000+i)
			if err := Log(l, &order{ID: id}, errTest, 1); err != nil {
				logged <- err
				return
			}
			fmt.Printf("ack %s\n", id) // one write(2)
		}
		logged <- nil
	}()
	return nil
}

// startChild starts the test binary in role and returns it with its stdout.
func startChild(t *testing.T, role, dir string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, childDirEnv+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out)
}

func kill(t *testing.T, cmd *exec.Cmd, out *bufio.Scanner) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for out.Scan() { // drain what the child printed before it died
	}
	_ = cmd.Wait()
}

// TestCrashWhileLogging kills a child that logs from four goroutines at
// different points; every item whose Log returned nil must be found after
// reopening, and the log must stay usable.
func TestCrashWhileLogging(t *testing.T) {
	dir := t.TempDir()
	acked := map[string]bool{}
	for round, after := range []int{1, 500, 3000, 7000} {
		cmd, out := startChild(t, "log", dir)
		n := 0
		for n < after && out.Scan() {
			if id, ok := strings.CutPrefix(out.Text(), "ack "); ok {
				acked[id] = true
				n++
			}
		}
		if n < after {
			t.Fatalf("round %d: child stopped after %d acks", round, n)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for out.Scan() { // acks printed before the kill count too
			if id, ok := strings.CutPrefix(out.Text(), "ack "); ok {
				acked[id] = true
			}
		}
		_ = cmd.Wait()
	}
	l, err := New(filepath.Join(dir, "orders.log"), WithLogger(quietLogger(new(bytes.Buffer))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	found := map[string]bool{}
	for it, err := range l.Items(RetryLog, OldestFirst) {
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ ID string }
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			t.Fatal(err)
		}
		found[p.ID] = true
	}
	for id := range acked {
		if !found[id] {
			t.Fatalf("acknowledged item %s lost (%d acked, %d found)", id, len(acked), len(found))
		}
	}
}

// logOrders logs ord-0..ord-<items-1>, all due, into rotated files of
// perFile items each, and closes the Logger.
func logOrders(t *testing.T, dir string, items, perFile int) {
	t.Helper()
	l, err := New(filepath.Join(dir, "orders.log"), WithMaxSize(0), WithCompress(false))
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if err := Log(l, &order{ID: fmt.Sprintf("ord-%d", i)}, errTest, 1); err != nil {
			t.Fatal(err)
		}
		if i%perFile == perFile-1 {
			if err := l.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCrashWhileReplaying kills a replaying child again and again; in the
// end every item was delivered, and duplicates are bounded by the kills.
func TestCrashWhileReplaying(t *testing.T) {
	dir := t.TempDir()
	const items = 3000
	logOrders(t, dir, items, 1000)
	crashReplays(t, dir, items, 1)
}

// TestCrashWhileReplayingWithDeferrals is TestCrashWhileReplaying with a
// backoff, so that every third item (and every re-logged one) is not due
// when the child first meets it: kills land while items are set aside,
// sorted and waited for, and still nothing is lost.
func TestCrashWhileReplayingWithDeferrals(t *testing.T) {
	dir := t.TempDir()
	const items = 1500
	now := time.Now()
	l, err := New(filepath.Join(dir, "orders.log"), WithMaxSize(0), WithCompress(false))
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		h := line{ts: now.Add(-time.Hour).Unix(), attempt: 1, reason: errTest.Error()}
		if i%3 == 0 {
			h.ts, h.attempt = now.Unix(), 3 // due about 1.2s from now
		}
		if err := write(l, l.retry, &order{ID: fmt.Sprintf("ord-%d", i)}, h); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 {
			if err := l.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	crashReplays(t, dir, items, 1, childWaitEnv+"=300ms")
}

// TestCrashWhileReplayingConcurrently is TestCrashWhileReplaying with
// Concurrency 16: kills land while up to 16 deliveries are in flight and
// finish out of order; every item is still delivered, and each kill repeats
// at most the 16 lines in hand.
func TestCrashWhileReplayingConcurrently(t *testing.T) {
	dir := t.TempDir()
	const items = 2400
	logOrders(t, dir, items, 800)
	crashReplays(t, dir, items, 16, childConcurrencyEnv+"=16")
}

// TestCrashWhileFollowing is TestCrashWhileReplayingConcurrently with
// Follow while the child logs new items: kills land while several files
// are open at once; every item the child acknowledged is still delivered,
// and each kill repeats at most the 16 lines in hand across the files.
func TestCrashWhileFollowing(t *testing.T) {
	dir := t.TempDir()
	const items = 1600
	logOrders(t, dir, items, 800)
	crashReplays(t, dir, items, 16, childConcurrencyEnv+"=16", childFollowEnv+"=100")
}

// crashReplays runs replaying children on dir, killing each after a number
// of deliveries that changes from run to run, until one finishes; then it
// checks that each of the items ord-0..ord-<items-1>, and each item a child
// acknowledged logging (see childFollowEnv), was delivered, with at most
// perKill duplicates per kill.
func crashReplays(t *testing.T, dir string, items, perKill int, env ...string) {
	t.Helper()
	kills := 0
	d := &deliveries{path: filepath.Join(dir, "delivered.txt"), perKill: perKill, seen: map[string]bool{}}
	defer func() {
		t.Logf("the most duplicates delivered by one run after a kill: %d", d.most)
	}()
	var acked []string
	scan := func(out *bufio.Scanner) (string, bool) {
		if !out.Scan() {
			return "", false
		}
		if id, ok := strings.CutPrefix(out.Text(), "ack "); ok {
			acked = append(acked, id)
		}
		return out.Text(), true
	}
	for run := 0; ; run++ {
		if run > 100 {
			t.Fatal("replay never finished")
		}
		cmd, out := startChild(t, "replay", dir, append(env, childRunEnv+"="+strconv.Itoa(run))...)
		limit := 150 + run*37%200
		n, done := 0, false
		for text, ok := scan(out); ok; text, ok = scan(out) {
			if text == "done" {
				done = true
				break
			}
			if text != "d" {
				continue
			}
			if n++; n == limit {
				break
			}
		}
		if done {
			for _, ok := scan(out); ok; _, ok = scan(out) {
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
			d.run(t, kills)
			break
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for _, ok := scan(out); ok; _, ok = scan(out) { // acks printed before the kill count too
		}
		_ = cmd.Wait()
		d.run(t, kills)
		kills++
	}
	data, err := os.ReadFile(filepath.Join(dir, "delivered.txt"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, id := range strings.Fields(string(data)) {
		count[id]++
	}
	for _, id := range acked {
		if count[id] == 0 {
			t.Fatalf("%s, logged while replaying, never delivered", id)
		}
	}
	dups := 0
	for i := range items {
		c := count[fmt.Sprintf("ord-%d", i)]
		if c == 0 {
			t.Fatalf("ord-%d never delivered", i)
		}
		dups += c - 1
	}
	for _, id := range acked {
		dups += count[id] - 1
	}
	t.Logf("%d items and %d logged while replaying, %d kills, %d duplicates (at most %d allowed per kill)",
		items, len(acked), kills, dups, perKill)
	if kills == 0 {
		t.Fatal("the child was never killed")
	}
	if dups > perKill*kills {
		t.Fatalf("%d duplicate deliveries after %d kills, more than %d per kill", dups, kills, perKill)
	}
}

// deliveries reads the delivery record after each run of a child, keeps
// the most duplicates one run delivered, and checks that the duplicates so
// far are at most perKill for each kill before the run.
type deliveries struct {
	path    string
	perKill int
	off     int
	seen    map[string]bool
	dups    int // so far
	most    int
}

func (d *deliveries) run(t *testing.T, killsBefore int) {
	t.Helper()
	data, err := os.ReadFile(d.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	dups := 0
	for _, id := range strings.Fields(string(data[d.off:])) {
		if d.seen[id] {
			dups++
		}
		d.seen[id] = true
	}
	d.off = len(data)
	d.most = max(d.most, dups)
	if d.dups += dups; d.dups > d.perKill*killsBefore {
		t.Fatalf("%d duplicate deliveries after %d kills, more than %d per kill", d.dups, killsBefore, d.perKill)
	}
}

// childFileSizeLimit logs under RLIMIT_FSIZE until Log fails, and prints how
// many items were accepted.
func childFileSizeLimit(dir string) error {
	l, err := New(filepath.Join(dir, "orders.log"), WithMaxSize(0), WithCompress(false))
	if err != nil {
		return err
	}
	defer l.Close()
	const limit = 10000
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		return err
	}
	for i := 0; ; i++ {
		if err := Log(l, &order{ID: fmt.Sprintf("ord-%d-%s", i, strings.Repeat("x", i%97))}, errTest, 1); err != nil {
			fmt.Printf("accepted %d: %v\n", i, err)
			return nil
		}
	}
}

// TestFailedLogLeavesNoHalfLine fills the file-size limit of a child process:
// the Log that does not fit fails, and the file holds exactly the items that
// were accepted, each on a whole line.
func TestFailedLogLeavesNoHalfLine(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startChild(t, "fsize", dir)
	accepted := -1
	for out.Scan() {
		if _, err := fmt.Sscanf(out.Text(), "accepted %d:", &accepted); err == nil {
			t.Log(out.Text())
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if accepted <= 0 {
		t.Fatal("the child never hit the limit")
	}
	data, err := os.ReadFile(filepath.Join(dir, "orders.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' || bytes.Count(data, []byte("\n")) != accepted {
		t.Fatalf("file has %d lines (ends with %q), want %d whole lines", bytes.Count(data, []byte("\n")), data[len(data)-1:], accepted)
	}
	l, err := New(filepath.Join(dir, "orders.log"), WithLogger(quietLogger(new(bytes.Buffer))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if st, err := l.Stats(); err != nil || st.Pending != int64(accepted) || st.Quarantined != 0 {
		t.Fatalf("Stats = %+v, %v; want %d pending, nothing quarantined", st, err, accepted)
	}
}

// childHold opens the log, says so, and waits to be killed.
func childHold(dir string) error {
	if _, err := New(filepath.Join(dir, "orders.log")); err != nil {
		return err
	}
	fmt.Println("open")
	time.Sleep(time.Hour) // until the parent kills it (a timer, so the runtime sees no deadlock)
	return nil
}

// TestLockAcrossProcesses: while another process has the log open, New
// fails with ErrLocked; once that process is killed, the kernel has released
// the lock and New succeeds.
func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startChild(t, "hold", dir)
	if !out.Scan() || out.Text() != "open" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not open the log: %q", out.Text())
	}
	if _, err := New(filepath.Join(dir, "orders.log")); !errors.Is(err, ErrLocked) {
		kill(t, cmd, out)
		t.Fatalf("New while another process holds the log: %v, want ErrLocked", err)
	}
	kill(t, cmd, out)
	l, err := New(filepath.Join(dir, "orders.log"))
	if err != nil {
		t.Fatalf("New after the holder was killed: %v", err)
	}
	_ = l.Close()
}
