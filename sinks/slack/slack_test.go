package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/slack"
)

// secretPath is the part of a webhook URL that grants posting rights.
const secretPath = "/services/T00000000/B00000000/XXXXsecretXXXXtoken"

// newSlack starts a server standing in for hooks.slack.com.
func newSlack(t *testing.T, respond http.HandlerFunc) *httpsinktest.Server {
	return httpsinktest.NewServer(t, respond)
}

func hook(srv *httpsinktest.Server) string { return srv.URL + secretPath }

func newSink(t *testing.T, cfg slack.Config) *slack.Sink {
	t.Helper()
	s, err := slack.New("ops", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSendExactRequest(t *testing.T) {
	fs := newSlack(t, nil)
	s := newSink(t, slack.Config{WebhookURL: hook(fs)})
	err := s.Send(context.Background(), nil, sinks.Message{
		Subject: "db1 <!channel> down",
		Body:    "load > 9 & rising: <https://evil.example|your bank>\n_italic_ stays *mrkdwn*",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fs.Next(t)
	if got.Method != http.MethodPost || got.Path != secretPath {
		t.Fatalf("request line %s %s", got.Method, got.Path)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	want := `{"text":"*db1 \u0026lt;!channel\u0026gt; down*\nload \u0026gt; 9 \u0026amp; rising: \u0026lt;https://evil.example|your bank\u0026gt;\n_italic_ stays *mrkdwn*"}`
	if got.Body != want {
		t.Fatalf("body\n got %s\nwant %s", got.Body, want)
	}
	var p struct{ Text string }
	if err := json.Unmarshal([]byte(got.Body), &p); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(p.Text, "<>") {
		t.Fatalf("unescaped angle bracket reaches Slack: %q", p.Text)
	}
}

func TestSendMetadataBlocks(t *testing.T) {
	fs := newSlack(t, nil)
	s := newSink(t, slack.Config{WebhookURL: hook(fs)})
	err := s.Send(context.Background(), nil, sinks.Message{
		Subject:  "deploy",
		Body:     "done",
		Metadata: map[string]string{"service": "api", "env": "<prod>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"text":"*deploy*\ndone","blocks":[` +
		`{"type":"section","text":{"type":"mrkdwn","text":"*deploy*\ndone"}},` +
		`{"type":"context","elements":[{"type":"mrkdwn","text":"*env:* \u0026lt;prod\u0026gt;"},{"type":"mrkdwn","text":"*service:* api"}]}]}`
	if got := fs.Next(t).Body; got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func TestSendLongTextSplitsSections(t *testing.T) {
	fs := newSlack(t, nil)
	s := newSink(t, slack.Config{WebhookURL: hook(fs)})
	md := map[string]string{}
	for i := range 12 {
		md[fmt.Sprintf("k%02d", i)] = "v"
	}
	body := strings.Repeat("é", 7000)
	if err := s.Send(context.Background(), nil, sinks.Message{Body: body, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Text   string
		Blocks []struct {
			Type     string
			Text     *struct{ Text string }
			Elements []struct{ Text string }
		}
	}
	if err := json.Unmarshal([]byte(fs.Next(t).Body), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Blocks) != 4 {
		t.Fatalf("want 3 sections and a context, got %d blocks", len(p.Blocks))
	}
	var joined string
	for _, b := range p.Blocks[:3] {
		if n := len([]rune(b.Text.Text)); n > 3000 {
			t.Errorf("section of %d characters", n)
		}
		joined += b.Text.Text
	}
	if joined != body || p.Text != body {
		t.Error("sections do not add up to the text")
	}
	ctxBlock := p.Blocks[3]
	if ctxBlock.Type != "context" || len(ctxBlock.Elements) != 10 {
		t.Fatalf("context block: %+v", ctxBlock)
	}
	if last := ctxBlock.Elements[9].Text; last != "*k09:* v  *k10:* v  *k11:* v" {
		t.Errorf("the last element must carry the rest, got %q", last)
	}
}

func TestStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		transient bool
	}{
		{400, "invalid_payload", false},
		{403, "invalid_token", false},
		{404, "no_service", false},
		{410, "channel_is_archived", false},
		{429, "rate_limited", true},
		{500, "rollup_error", true},
		{503, "service_unavailable", true},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			fs := newSlack(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			s := newSink(t, slack.Config{WebhookURL: hook(fs)})
			err := s.Send(context.Background(), nil, sinks.Message{Subject: "x"})
			if err == nil {
				t.Fatal("no error")
			}
			if sinks.IsTransient(err) != tc.transient {
				t.Errorf("IsTransient = %v, want %v: %v", !tc.transient, tc.transient, err)
			}
			if !strings.Contains(err.Error(), tc.body) {
				t.Errorf("error lacks Slack's text %q: %v", tc.body, err)
			}
			if strings.Contains(err.Error(), "XXXXsecret") || strings.Contains(err.Error(), "/services/") {
				t.Errorf("error shows the webhook URL: %v", err)
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed = make(chan struct{}, 1)
	fs := newSlack(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			followed <- struct{}{}
			return
		}
		http.Redirect(w, r, "/moved", http.StatusFound)
	})
	s := newSink(t, slack.Config{WebhookURL: hook(fs)})
	err := s.Send(context.Background(), nil, sinks.Message{Subject: "x"})
	if err == nil || sinks.IsTransient(err) {
		t.Fatalf("redirect: %v", err)
	}
	fs.Next(t)
	select {
	case <-followed:
		t.Fatal("redirect was followed")
	default:
	}
}

func TestURLNeverInErrors(t *testing.T) {
	check := func(t *testing.T, err error, transient bool) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), "XXXXsecret") || strings.Contains(err.Error(), "T00000000") {
			t.Errorf("error shows the webhook URL: %v", err)
		}
		if sinks.IsTransient(err) != transient {
			t.Errorf("IsTransient = %v, want %v: %v", !transient, transient, err)
		}
	}
	t.Run("timeout", func(t *testing.T) {
		fs := httpsinktest.Blocking(t)
		s := newSink(t, slack.Config{WebhookURL: hook(fs), Timeout: 50 * time.Millisecond})
		check(t, s.Send(context.Background(), nil, sinks.Message{Subject: "x"}), true)
	})
	t.Run("tls to plain server", func(t *testing.T) {
		fs := newSlack(t, nil)
		s := newSink(t, slack.Config{WebhookURL: strings.Replace(hook(fs), "http://", "https://", 1)})
		err := s.Send(context.Background(), nil, sinks.Message{Subject: "x"})
		if err == nil || strings.Contains(err.Error(), "XXXXsecret") {
			t.Fatalf("error: %v", err)
		}
	})
	t.Run("config", func(t *testing.T) {
		_, err := slack.New("ops", slack.Config{WebhookURL: "http://hooks.slack.com" + secretPath})
		var ce *sinks.ConfigError
		if !errors.As(err, &ce) || ce.Key != "webhook_url" {
			t.Fatalf("plain http to a remote host: %v", err)
		}
		check(t, err, false)
	})
}

func TestRecipientAndEmptyMessage(t *testing.T) {
	fs := newSlack(t, nil)
	s := newSink(t, slack.Config{WebhookURL: hook(fs)})
	for _, to := range []sinks.Recipient{"#general", struct{}{}, json.RawMessage(`{"channel":"x"}`)} {
		err := s.Send(context.Background(), to, sinks.Message{Subject: "x"})
		if !errors.Is(err, sinks.ErrInvalidArgument) || sinks.IsTransient(err) {
			t.Errorf("recipient %#v: %v", to, err)
		}
	}
	for _, to := range []sinks.Recipient{nil, json.RawMessage(nil), json.RawMessage("null")} {
		if err := s.Send(context.Background(), to, sinks.Message{Subject: "x"}); err != nil {
			t.Errorf("recipient %#v: %v", to, err)
		}
		fs.Next(t)
	}
	err := s.Send(context.Background(), nil, sinks.Message{Subject: "  "})
	if !errors.Is(err, sinks.ErrInvalidArgument) || sinks.IsTransient(err) {
		t.Errorf("empty message: %v", err)
	}
	if r, err := s.DecodeRecipient(json.RawMessage(`{"x":1}`)); r != nil || err != nil {
		t.Errorf("DecodeRecipient = %v, %v", r, err)
	}
}

func TestFactory(t *testing.T) {
	fs := newSlack(t, nil)
	t.Setenv("DLETTER_TEST_SLACK_URL", hook(fs))
	file := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(file, []byte(hook(fs)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]map[string]any{
		"inline":       {"kind": "slack", "webhook_url": hook(fs), "timeout": "3s"},
		"env":          {"webhook_url_env": "DLETTER_TEST_SLACK_URL"},
		"file":         {"webhook_url_file": file},
		"interpolated": {"webhook_url": "${DLETTER_TEST_SLACK_URL}"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sinks.BuildSink("slack", "ops", raw)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != "ops" {
				t.Fatalf("Name %q", s.Name())
			}
			if err := s.Send(context.Background(), nil, sinks.Message{Subject: "hi"}); err != nil {
				t.Fatal(err)
			}
			if got := fs.Next(t); got.Body != `{"text":"*hi*"}` {
				t.Fatalf("body %s", got.Body)
			}
		})
	}
}

func TestFactoryErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]any
		key  string
	}{
		{"missing url", map[string]any{"timeout": "1s"}, "webhook_url"},
		{"unknown key", map[string]any{"webhook_url": "https://hooks.slack.com/x", "channel": "#ops"}, "channel"},
		{"bad timeout", map[string]any{"webhook_url": "https://hooks.slack.com/x", "timeout": 5}, "timeout"},
		{"unset env", map[string]any{"webhook_url_env": "DLETTER_TEST_UNSET_VARIABLE"}, "webhook_url_env"},
		{"two sources", map[string]any{"webhook_url": "https://hooks.slack.com/x", "webhook_url_file": "/x"}, "webhook_url"},
		{"not https", map[string]any{"webhook_url": "http://hooks.slack.com" + secretPath}, "webhook_url"},
		{"not a url", map[string]any{"webhook_url": "hooks.slack.com" + secretPath}, "webhook_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sinks.BuildSink("slack", "ops", tc.raw)
			var ce *sinks.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || !errors.Is(err, sinks.ErrInvalidConfig) {
				t.Fatalf("want ConfigError for key %q, got %v", tc.key, err)
			}
			if strings.Contains(err.Error(), "XXXXsecret") {
				t.Errorf("error shows the URL: %v", err)
			}
		})
	}
}

// The URL is the credential: a configuration error never shows it, even
// when it is of the wrong type or came from the environment.
func TestFactoryErrorsHideURL(t *testing.T) {
	t.Setenv("DLETTER_TEST_SLACK_URL", "https://hooks.slack.com"+secretPath)
	for name, raw := range map[string]map[string]any{
		"list":          {"webhook_url": []any{"https://hooks.slack.com" + secretPath}},
		"map":           {"webhook_url": map[string]any{"u": "https://hooks.slack.com" + secretPath}},
		"number":        {"webhook_url": 12345678, "timeout": "1s"},
		"env in a list": {"webhook_url": []any{"${DLETTER_TEST_SLACK_URL}"}},
		"env, not http": {"webhook_url": "ftp://${DLETTER_TEST_SLACK_URL}"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sinks.BuildSink("slack", "ops", raw)
			var ce *sinks.ConfigError
			if !errors.As(err, &ce) || ce.Key != "webhook_url" {
				t.Fatalf("want ConfigError for webhook_url, got %v", err)
			}
			if strings.Contains(err.Error(), "XXXXsecret") || strings.Contains(err.Error(), "12345678") {
				t.Errorf("error shows the URL: %v", err)
			}
		})
	}
}

func TestPrintingHidesURL(t *testing.T) {
	s := newSink(t, slack.Config{WebhookURL: "https://hooks.slack.com" + secretPath})
	out := fmt.Sprintf("%v %+v %#v %s", s, s, s, s)
	if strings.Contains(out, "XXXXsecret") || !strings.Contains(out, `"ops"`) {
		t.Fatalf("printed sink: %s", out)
	}
}

func TestUntrustedCertificateIsTerminal(t *testing.T) {
	srv := httpsinktest.NewTLSServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	s := newSink(t, slack.Config{WebhookURL: srv.URL + secretPath})
	err := s.Send(context.Background(), nil, sinks.Message{Subject: "x"})
	if err == nil || sinks.IsTransient(err) || strings.Contains(err.Error(), "XXXXsecret") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	s = newSink(t, slack.Config{WebhookURL: srv.URL + secretPath, Transport: srv.Client().Transport})
	if err := s.Send(context.Background(), nil, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
}
