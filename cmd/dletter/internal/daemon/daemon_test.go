package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/sinks"
)

// TestExampleConfig: the shipped example loads, and every sink in it builds.
func TestExampleConfig(t *testing.T) {
	t.Setenv("ORDERS_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/XXXXXXXX")
	t.Setenv("DLETTER_TOKEN", "example-token")
	t.Setenv("SMTP_PASSWORD", "smtp-password")
	cfg, err := config.Load(filepath.Join("..", "..", "..", "..", "examples", "dletter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.SinkNames(), ","); got != "mail,ops-alerts,orders" {
		t.Fatalf("sinks %s", got)
	}
	for _, name := range cfg.SinkNames() {
		if _, err := BuildSink(cfg, name); err != nil {
			t.Errorf("sink %s: %v", name, err)
		}
	}
	if _, err := sinks.DecodeRetryPolicy(cfg.Retry); err != nil {
		t.Error(err)
	}
	if tok, err := cfg.Token(); err != nil || tok != "example-token" {
		t.Errorf("token: %q %v", tok, err)
	}
}

type failing struct{ err error }

func (f failing) Name() string { return "f" }
func (f failing) Send(context.Context, sinks.Recipient, sinks.Message) error {
	return f.err
}

func TestRedact(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("file-secret-77\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DL_TEST_SECRET", "env-secret-99")
	block := map[string]any{
		"kind":          "webhook",
		"url":           "https://user:pass@hooks.example/T123/B456/tok789?key=qs-secret",
		"secret_env":    "DL_TEST_SECRET",
		"password_file": file,
		"headers":       map[string]any{"X-Api": "header-secret-1"},
		"timeout":       "15s",
	}
	base := errors.New("POST https://user:pass@hooks.example/T123/B456/tok789?key=qs-secret: 503; " +
		"path /T123/B456/tok789, env-secret-99, file-secret-77, header-secret-1, timeout 15s")
	cause := sinks.Transient(base)
	s := redact(failing{err: cause}, block)
	err := s.Send(context.Background(), nil, sinks.Message{})
	for _, secret := range []string{"tok789", "qs-secret", "env-secret-99", "file-secret-77", "header-secret-1", "user:pass"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q survived: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "timeout 15s") || !strings.Contains(err.Error(), "503") {
		t.Errorf("too much was redacted: %v", err)
	}
	if !errors.Is(err, base) || !sinks.IsTransient(err) {
		t.Errorf("the error chain was lost: %v", err)
	}
	if u, ok := s.(interface{ Unwrap() sinks.Sink }); !ok || u.Unwrap().Name() != "f" {
		t.Error("Unwrap lost the sink")
	}
	if got := redact(failing{}, map[string]any{"kind": "x", "timeout": "1s"}); got != (failing{}) {
		t.Error("a sink without secrets was wrapped")
	}
}
