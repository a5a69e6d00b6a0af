package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startupFailure runs `dletter args...` as a child process with the extra
// environment env, expecting it to refuse to start. It fails the test if
// the daemon prints its console URL (it started serving) or does not exit.
func startupFailure(t *testing.T, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), childEnv+"="+string(argv))
	out, errb := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("exit: %v (stdout %q, stderr %q)", err, out, errb)
			}
			return errb.String(), ee.ExitCode()
		case <-time.After(20 * time.Millisecond):
		}
		if strings.Contains(out.String(), "console: ") || time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("the daemon started instead of refusing:\n%s\n%s", out, errb)
		}
	}
}

// TestServeRefusesBlankToken: a token variable or file holding only
// whitespace stops the daemon at start with a usage error that names the
// variable or the file (never its value), on loopback as well as beyond it,
// instead of running without authentication.
func TestServeRefusesBlankToken(t *testing.T) {
	dir := t.TempDir()
	blankFile := filepath.Join(dir, "token")
	if err := os.WriteFile(blankFile, []byte("  \t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DLETTER_BLANK_TOKEN= \t "}
	for _, c := range []struct {
		listen, flag, value, names string
	}{
		{"127.0.0.1:0", "--token-env", "DLETTER_BLANK_TOKEN", "DLETTER_BLANK_TOKEN"},
		{"0.0.0.0:0", "--token-env", "DLETTER_BLANK_TOKEN", "DLETTER_BLANK_TOKEN"},
		{"127.0.0.1:0", "--token-file", blankFile, blankFile},
		{"0.0.0.0:0", "--token-file", blankFile, blankFile},
	} {
		errOut, code := startupFailure(t, env, "serve", "--listen", c.listen, "--data", filepath.Join(dir, "data"), c.flag, c.value)
		if code != 2 || !strings.Contains(errOut, c.names) || !strings.Contains(errOut, "whitespace") ||
			strings.Contains(errOut, "without a token") {
			t.Errorf("%s %s on %s: exit %d\n%s", c.flag, c.value, c.listen, code, errOut)
		}
	}
}
