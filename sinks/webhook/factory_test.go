package webhook_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

func TestFactoryValidConfig(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	s, err := sinks.BuildSink("webhook", "hooks", map[string]any{
		"kind":                  "webhook",
		"url":                   rc.URL + "/in",
		"headers":               map[string]any{"X-Team": "ops"},
		"secret":                vectorSecret,
		"timeout":               "2s",
		"allow_recipient_hosts": []any{"*.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(sinks.WithDeliveryID(context.Background(), "d1"), nil, sinks.Message{Subject: "hi"}); err != nil {
		t.Fatal(err)
	}
	got := rc.Next(t)
	if got.Header.Get("X-Team") != "ops" || got.Path != "/in" {
		t.Fatalf("request %+v", got)
	}
	if err := verify(vectorSecret, "d1", got.Header.Get("Webhook-Timestamp"), got.Header.Get("Webhook-Signature"), []byte(got.Body)); err != nil {
		t.Fatal(err)
	}
}

func TestFactorySecretSources(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	t.Setenv("DLETTER_TEST_WEBHOOK_SECRET", vectorSecret)
	t.Setenv("DLETTER_TEST_WEBHOOK_URL", rc.URL)
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(vectorSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]map[string]any{
		"env":          {"url": rc.URL, "secret_env": "DLETTER_TEST_WEBHOOK_SECRET"},
		"file":         {"url": rc.URL, "secret_file": file},
		"interpolated": {"url": "${DLETTER_TEST_WEBHOOK_URL}", "secret": "${DLETTER_TEST_WEBHOOK_SECRET}"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sinks.BuildSink("webhook", "hooks", raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), nil, sinks.Message{}); err != nil {
				t.Fatal(err)
			}
			got := rc.Next(t)
			if err := verify(vectorSecret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), got.Header.Get("Webhook-Signature"), []byte(got.Body)); err != nil {
				t.Fatal(err)
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
		{"missing url", map[string]any{"secret": vectorSecret}, "url"},
		{"unknown key", map[string]any{"url": "http://h/", "sekret": "x"}, "sekret"},
		{"wrong type", map[string]any{"url": "http://h/", "headers": "X-A: b"}, "headers"},
		{"bad timeout", map[string]any{"url": "http://h/", "timeout": "soon"}, "timeout"},
		{"unset env", map[string]any{"url": "http://h/", "secret_env": "DLETTER_TEST_UNSET_VARIABLE"}, "secret_env"},
		{"two sources", map[string]any{"url": "http://h/", "secret": vectorSecret, "secret_env": "X"}, "secret"},
		{"missing file", map[string]any{"url": "http://h/", "secret_file": "/nonexistent/secret"}, "secret_file"},
		{"bad secret from env", map[string]any{"url": "http://h/", "secret": "whsec_${DLETTER_TEST_SHORT}"}, "secret"},
		{"recipient secret for a host not allowed", map[string]any{"url": "http://h/", "allow_recipient_hosts": []any{"p.example"}, "recipient_secrets": map[string]any{"evil.example": partnerSecret}}, "recipient_secrets[evil.example]"},
		{"recipient secret for another port", map[string]any{"url": "http://h/", "recipient_secrets": map[string]any{"p.example:9443": partnerSecret}, "allow_recipient_hosts": []any{"p.example:8443"}}, "recipient_secrets[p.example:9443]"},
		{"wildcard recipient secret", map[string]any{"url": "http://h/", "recipient_secrets": map[string]any{"*.p.example": partnerSecret}, "allow_recipient_hosts": []any{"*.p.example"}}, "recipient_secrets[*.p.example]"},
		{"bad recipient secret", map[string]any{"url": "http://h/", "allow_recipient_hosts": []any{"p.example"}, "recipient_secrets": map[string]any{"p.example": "whsec_c2hvcnQ="}}, "recipient_secrets[p.example]"},
		{"unknown recipient secret form", map[string]any{"url": "http://h/", "allow_recipient_hosts": []any{"p.example"}, "recipient_secrets": map[string]any{"p.example": map[string]any{"secret_envv": "X"}}}, "recipient_secrets[p.example]"},
		{"two recipient secret sources", map[string]any{"url": "http://h/", "allow_recipient_hosts": []any{"p.example"}, "recipient_secrets": map[string]any{"p.example": map[string]any{"secret": partnerSecret, "secret_env": "X"}}}, "recipient_secrets[p.example].secret"},
		{"unset recipient secret variable", map[string]any{"url": "http://h/", "allow_recipient_hosts": []any{"p.example"}, "recipient_secrets": map[string]any{"p.example": map[string]any{"secret_env": "DLETTER_TEST_UNSET_VARIABLE"}}}, "recipient_secrets[p.example].secret_env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DLETTER_TEST_SHORT", "c2hvcnQ=")
			_, err := sinks.BuildSink("webhook", "hooks", tc.raw)
			var ce *sinks.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || ce.Sink != "hooks" || ce.Kind != "webhook" {
				t.Fatalf("want ConfigError for key %q, got %v", tc.key, err)
			}
			for _, secret := range []string{vectorSecret, partnerSecret} {
				if strings.Contains(err.Error(), strings.TrimPrefix(secret, "whsec_")) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

// The sink's decoder, through sinks.DecodeRecipient: no recipient is nil
// (the configured URL), both stored forms decode, anything else is an
// invalid argument.
func TestDecodeRecipient(t *testing.T) {
	s := newSink(t, webhook.Config{URL: "http://127.0.0.1/"})
	for _, tc := range []struct {
		raw  string
		want sinks.Recipient
	}{
		{`{"url":"https://a.example.com/x"}`, webhook.Recipient{URL: "https://a.example.com/x"}},
		{`{"URL":"https://a.example.com/x"}`, webhook.Recipient{URL: "https://a.example.com/x"}},
		{`"https://a.example.com/x"`, webhook.Recipient{URL: "https://a.example.com/x"}},
	} {
		got, err := sinks.DecodeRecipient(s, []byte(tc.raw))
		if err != nil || got != tc.want {
			t.Errorf("DecodeRecipient(%s) = %#v, %v; want %#v", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{`[1]`, `{"url":1}`, `{`} {
		if _, err := sinks.DecodeRecipient(s, []byte(raw)); !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Errorf("DecodeRecipient(%s): %v", raw, err)
		}
	}
}
