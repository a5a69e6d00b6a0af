package redistest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/dletter/dletter/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerKillRestartKeepsAcknowledgedWrites(t *testing.T) {
	s := redistest.Start(t, redistest.WithPersistence())
	ctx := context.Background()
	c := s.Client()
	// everysec would answer writes it has not written yet while a
	// background fsync runs (see WithPersistence), which a kill then loses.
	cfg, err := c.ConfigGet(ctx, "appendfsync").Result()
	if err != nil || (cfg["appendfsync"] != "no" && cfg["appendfsync"] != "always") {
		t.Fatalf("appendfsync = %v, %v; want no or always", cfg, err)
	}
	// A stream of acknowledged writes, killed right after the last reply.
	const n = 2000
	for i := range n {
		if err := c.Incr(ctx, "n").Err(); err != nil {
			t.Fatalf("INCR %d: %v", i, err)
		}
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	got, err := c.Get(ctx, "n").Int()
	if err != nil || got != n {
		t.Fatalf("after restart GET n = %d, %v; want %d", got, err, n)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "redis.log")); err != nil {
		t.Errorf("log file: %v", err)
	}
}

func TestServerWithoutPersistenceKeepsNothing(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.ConfigGet(ctx, "appendonly").Result()
	if err != nil || cfg["appendonly"] != "no" {
		t.Fatalf("appendonly = %v, %v; want no", cfg, err)
	}
	s.Stop()
	s.Stop() // idempotent
	s.Restart()
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k after restart = %d, %v; want 0", n, err)
	}
}

func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	ctx := context.Background()
	c := cl.Client()
	// Keys spread over the three masters.
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := c.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	nodes := map[string]bool{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		m, err := c.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.Options().Addr] = true
	}
	if len(nodes) < 2 {
		t.Errorf("six keys landed on %d master(s); want a spread", len(nodes))
	}
}

// TestMissingBinary runs TestMissingBinaryChild in a child process, with and
// without CI set: a missing program skips the test locally and fails it in
// CI.
func TestMissingBinary(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP"},
		{"true", true, "CI is set"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinaryChild$", "-test.v", "-test.count=1")
		cmd.Env = append(filterEnv(os.Environ(), "CI"), "REDISTEST_MISSING_CHILD=1")
		if tc.ci != "" {
			cmd.Env = append(cmd.Env, "CI="+tc.ci)
		}
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail || !strings.Contains(string(out), tc.want) {
			t.Errorf("CI=%q: failed=%v (want %v), output:\n%s", tc.ci, failed, tc.wantFail, out)
		}
	}
}

func TestMissingBinaryChild(t *testing.T) {
	if os.Getenv("REDISTEST_MISSING_CHILD") == "" {
		t.Skip("runs only as the child of TestMissingBinary")
	}
	redistest.Binary(t, "redis-server-that-does-not-exist")
	t.Fatal("Binary returned for a missing program")
}

func filterEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
