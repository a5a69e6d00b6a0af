package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/cli"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// childEnv makes the test binary run the dletter command instead of the
// tests: the end-to-end tests start the daemon as a real child process that
// they can SIGKILL.
const childEnv = "DLETTER_E2E_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childEnv, err)
			os.Exit(2)
		}
		os.Exit(cli.Main(context.Background(), argv, cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
	}
	os.Exit(m.Run())
}

// daemon is `dletter serve` running as a child process.
type daemon struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	logs *testenv.Buffer
	done chan error
}

var consoleLine = regexp.MustCompile(`console: (https?://127\.0\.0\.1:\d+/)`)

// startDaemon runs `dletter serve --listen 127.0.0.1:0 args...` and waits
// until it prints its URL.
func startDaemon(t testing.TB, args ...string) *daemon {
	t.Helper()
	return startIn(t, "", append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
}

// startIn runs `dletter args...` in the working directory dir ("" for this
// one) and waits until it prints the console's URL.
func startIn(t testing.TB, dir string, args ...string) *daemon {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childEnv+"="+string(argv))
	d := &daemon{t: t, cmd: cmd, logs: &testenv.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = d.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := consoleLine.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { d.kill() })
	select {
	case d.URL = <-urlc:
	case err := <-d.done:
		t.Fatalf("daemon exited at start: %v\n%s", err, d.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not start\n%s", d.logs)
	}
	d.URL = strings.TrimSuffix(d.URL, "/")
	return d
}

// kill sends SIGKILL and waits for the process.
func (d *daemon) kill() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil
}

// stop sends SIGTERM and returns the exit error, failing after a deadline.
func (d *daemon) stop() error {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	return d.wait()
}

// wait returns the exit error, failing after a deadline.
func (d *daemon) wait() error {
	d.t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not exit\n%s", d.logs)
		return nil
	}
}

// api calls the daemon's API and decodes the JSON answer into out.
func (d *daemon) api(method, path, body string, out any) int {
	d.t.Helper()
	req, _ := http.NewRequest(method, d.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v\n%s", method, path, err, d.logs)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			d.t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, b, err)
		}
	}
	return res.StatusCode
}

// run runs the dletter command in this process.
func run(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// writeConfig writes a configuration whose webhook sink "orders" posts to
// hookURL, and returns its path.
func writeConfig(t testing.TB, dir, hookURL, retry string) string {
	t.Helper()
	cfg := fmt.Sprintf(`# test configuration; startDaemon's --listen overrides listen
listen: 127.0.0.1:1
data_dir: %s
sinks:
  orders:
    kind: webhook
    url: %s/orders-hook
%s
`, filepath.Join(dir, "data"), hookURL, retry)
	path := filepath.Join(dir, "dletter.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
