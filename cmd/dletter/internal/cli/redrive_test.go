package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

// seedItems opens the DLQ cfg names and adds n items for the sink orders.
func seedItems(t *testing.T, cfg *config.Config, n int) {
	t.Helper()
	core, err := daemon.Open(cfg, daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	for i := range n {
		it := sinks.DLQItem{Sink: "orders", LastError: "503", Message: sinks.Message{Subject: fmt.Sprint("order ", i)}}
		if _, err := core.Store.Add(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRedriveConcurrencyFlag: --concurrency reaches the redrive through a
// daemon, a data directory and Redis alike: a receiver that takes 100ms per
// request sees several at once, never more than asked, and every item is
// delivered.
func TestRedriveConcurrencyFlag(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("DLETTER_TOKEN", "")
	const n, at = 6, 3
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, hookURL string) []string // the --dlq and --config flags
	}{
		{"daemon", func(t *testing.T, hookURL string) []string {
			core, url := daemonFor(t, "", false, hookURL)
			for i := range n {
				if _, err := core.Store.Add(context.Background(), sinks.DLQItem{Sink: "orders", Message: sinks.Message{Subject: fmt.Sprint(i)}}); err != nil {
					t.Fatal(err)
				}
			}
			return []string{"--dlq", url}
		}},
		{"data directory", func(t *testing.T, hookURL string) []string {
			file := sinkConfig(t, hookURL, "")
			cfg, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			seedItems(t, cfg, n)
			return []string{"--config", file}
		}},
		{"redis", func(t *testing.T, hookURL string) []string {
			rd := redistest.Start(t)
			file := sinkConfig(t, hookURL, fmt.Sprintf("dlq: {backend: redis, addrs: [%s], prefix: conc}\n", rd.Addr))
			cfg, err := config.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			seedItems(t, cfg, n)
			return []string{"--config", file, "--dlq", "redis://" + rd.Addr + "/0?prefix=conc"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := testenv.NewReceiver(t)
			flags := tc.setup(t, hook.URL)
			hook.Delay.Store(int64(100 * time.Millisecond))
			args := append([]string{"dlq", "redrive", "--sink", "orders", "--concurrency", fmt.Sprint(at)}, flags...)
			out, errOut, code := run(t, "", args...)
			if code != ExitOK || !strings.Contains(out, fmt.Sprintf("%d delivered, 0 failed", n)) {
				t.Fatalf("redrive: %d %s %s", code, out, errOut)
			}
			if most := hook.MostInFlight(); most < 2 || most > at {
				t.Fatalf("the receiver had at most %d requests at once, want 2 to %d", most, at)
			}
			if hook.Total() != n {
				t.Fatalf("the receiver got %d deliveries, want %d", hook.Total(), n)
			}
		})
	}
}

// TestRedriveConcurrencyFlagRefused: a negative or too large --concurrency
// is a usage error naming the flag and the value, before anything is
// opened.
func TestRedriveConcurrencyFlagRefused(t *testing.T) {
	for _, v := range []string{"-1", "1001"} {
		_, errOut, code := run(t, "", "dlq", "redrive", "--concurrency", v, "--dlq", "http://127.0.0.1:1")
		if code != ExitUsage || !strings.Contains(errOut, "--concurrency") || !strings.Contains(errOut, `"`+v+`"`) {
			t.Errorf("--concurrency %s: %d %s", v, code, errOut)
		}
	}
	if _, errOut, code := run(t, "", "dlq", "redrive", "--concurrency", "two"); code != ExitUsage || !strings.Contains(errOut, "--concurrency") {
		t.Errorf("--concurrency two: %d %s", code, errOut)
	}
}

// sinkConfig writes a configuration with the webhook sink orders posting
// to hookURL, a data directory of its own, and extra, and returns its path.
func sinkConfig(t *testing.T, hookURL, extra string) string {
	t.Helper()
	dir := t.TempDir()
	doc := fmt.Sprintf("data_dir: %s\nretry: {max_attempts: 1}\nsinks:\n  orders: {kind: webhook, url: %s/orders}\n%s",
		filepath.Join(dir, "data"), hookURL, extra)
	path := filepath.Join(dir, "dletter.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
