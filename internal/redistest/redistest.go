// Package redistest starts real redis-server processes for tests: a single
// node or a local Redis Cluster, each on free loopback ports in a temporary
// directory, stopped when the test ends.
//
// Tests never depend on a server someone else started. Without redis-server
// on the machine the tests that need it are skipped with a message saying
// so, except when the environment variable CI is set: there they fail, so
// that a CI run can never pass without exercising Redis.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartTimeout bounds how long Start waits for a server to answer PING and
// StartCluster waits for cluster_state:ok.
const StartTimeout = 20 * time.Second

// Binary returns the path of the named Redis program (redis-server,
// redis-cli, redis-benchmark). When it is missing, the test is skipped, or
// fails when the environment variable CI is set.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("redistest: %s not found on PATH; install the Debian packages redis-server and redis-tools (make test-deps does)", name)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + " (CI is set: Redis tests must run)")
	}
	tb.Skip(msg)
	return ""
}

// Option configures a Server.
type Option func(*config)

type config struct {
	persist bool
	args    []string
}

// WithPersistence turns on the append-only file so that every write the
// server acknowledged survives Kill and Restart. It runs with
// "appendfsync no": Redis then always writes the file (to the kernel, which
// keeps it when the process dies) before it sends the replies of the
// writes, and never fsyncs it, which only a power loss would need.
//
// Redis' default, "appendfsync everysec", is not enough even for a killed
// process: while its once-a-second background fsync of the file runs, Redis
// keeps the writes that arrive in memory (for up to two seconds) but
// answers them at once, so a kill in that window loses acknowledged writes.
// "appendfsync always" keeps them too, but with an fsync per event-loop
// turn it makes the tests several times slower.
//
// By default a server keeps nothing on disk (--save "" --appendonly no).
func WithPersistence() Option { return func(c *config) { c.persist = true } }

// WithArgs appends redis-server arguments, such as "--maxmemory", "10mb".
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is one redis-server process owned by a test.
type Server struct {
	// Addr is the server's "127.0.0.1:port".
	Addr string
	// Port is its TCP port, kept across Restart.
	Port int
	// Dir is the server's working directory (data files, log).
	Dir string

	tb   testing.TB
	bin  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server on a free loopback port in a new temporary
// directory, waits until it answers PING, and stops it when the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	return start(tb, c, nil)
}

func start(tb testing.TB, c config, extra func(port int) []string) *Server {
	tb.Helper()
	s, err := launchIn(Binary(tb, "redis-server"), tb.TempDir(), c, extra)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s.tb = tb
	tb.Cleanup(s.Stop)
	return s
}

// launchIn starts bin on a free loopback port with dir as its working
// directory and waits until it answers PING.
func launchIn(bin, dir string, c config, extra func(port int) []string) (*Server, error) {
	var lastErr error
	// A free port found by the kernel may be taken by someone else before
	// redis-server binds it; try a few.
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: dir, bin: bin}
		s.args = s.baseArgs(c)
		if extra != nil {
			s.args = append(s.args, extra(port)...)
		}
		s.args = append(s.args, c.args...)
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
		if !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

func (s *Server) baseArgs(c config) []string {
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--logfile", "redis.log",
		"--save", "",
		"--daemonize", "no",
		"--protected-mode", "no",
	}
	if c.persist {
		return append(args, "--appendonly", "yes", "--appendfsync", "no")
	}
	return append(args, "--appendonly", "no")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts the process and waits until it answers PING or exits.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	err := waitFor(ctx, done, func(ctx context.Context) error { return ping(ctx, s.Addr) })
	if err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("redis-server on %s did not answer PING: %w\n%s", s.Addr, err, s.logTail())
	}
	return nil
}

// errExited reports that the process died while we waited for it.
var errExited = errors.New("process exited")

// waitFor polls check until it succeeds, the process exits (done closes) or
// ctx ends. It polls every few milliseconds, backing off to 50ms.
func waitFor(ctx context.Context, done <-chan struct{}, check func(context.Context) error) error {
	delay := 2 * time.Millisecond
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-done:
			t.Stop()
			return errExited
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// ping sends an inline PING and expects +PONG; it needs no client library.
func ping(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "redis.log:\n" + string(bytes.Join(lines, []byte("\n")))
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill stops the server at once with SIGKILL, as a crash would, and waits
// for the process to exit. Killing a stopped server does nothing.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop shuts the server down with SIGTERM and waits for it to exit. It is
// idempotent and runs at the end of the test by itself.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(StartTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts the server again on the same port and directory (after
// Kill or Stop) and waits until it answers PING. With WithPersistence the
// data acknowledged before the kill is there again.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		default:
			s.tb.Fatalf("redistest: Restart of %s while it is running; Kill or Stop it first", s.Addr)
		}
	}
	// The port may linger briefly after a kill; retry within the deadline.
	deadline := time.Now().Add(StartTimeout)
	for {
		err := s.launch()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || !strings.Contains(err.Error(), "in use") {
			s.tb.Fatalf("redistest: restart: %v", err)
		}
	}
}
