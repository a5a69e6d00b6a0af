package email_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
)

// The factory has no way to trust the test CA, so these sinks speak to a
// loopback server in clear text, where AUTH is still allowed.
func TestFactoryValidConfig(t *testing.T) {
	srv := startServer(t, serverOpts{mechs: []string{"PLAIN"}, clearAuth: true})
	t.Setenv("DLETTER_TEST_SMTP_PASSWORD", testPass)
	t.Setenv("DLETTER_TEST_SMTP_ADDR", srv.Addr)
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte(testPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(extra map[string]any) map[string]any {
		raw := map[string]any{"kind": "email", "addr": srv.Addr, "from": "Alerts <alerts@example.com>",
			"username": testUser, "tls": "opportunistic", "timeout": "5s", "allow_recipient_domains": []any{"example.com"}}
		for k, v := range extra {
			raw[k] = v
		}
		return raw
	}
	for name, raw := range map[string]map[string]any{
		"inline":       base(map[string]any{"password": testPass}),
		"env":          base(map[string]any{"password_env": "DLETTER_TEST_SMTP_PASSWORD"}),
		"file":         base(map[string]any{"password_file": file}),
		"interpolated": base(map[string]any{"addr": "${DLETTER_TEST_SMTP_ADDR}", "password": "${DLETTER_TEST_SMTP_PASSWORD}"}),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sinks.BuildSink("email", "mail", raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"}); err != nil {
				t.Fatal(err)
			}
			if got := srv.next(t); got.Auth != "PLAIN" || got.User != testUser {
				t.Fatalf("AUTH %q as %q", got.Auth, got.User)
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
		{"missing addr", map[string]any{"from": "a@example.com"}, "addr"},
		{"missing from", map[string]any{"addr": "smtp.example.com:587"}, "from"},
		{"bad addr", map[string]any{"addr": "smtp.example.com", "from": "a@example.com"}, "addr"},
		{"bad from", map[string]any{"addr": "smtp.example.com:587", "from": "not an address"}, "from"},
		{"from with line break", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com\r\nBcc: b@example.com"}, "from"},
		{"unknown key", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "host": "x"}, "host"},
		{"bad tls", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "tls": "ssl"}, "tls"},
		{"bad timeout", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "timeout": "30"}, "timeout"},
		{"password without username", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "password": "p"}, "username"},
		{"username without password", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "username": "u"}, "password"},
		{"clear-text password", map[string]any{"addr": "smtp.example.com:25", "from": "a@example.com", "username": "u", "password": "s3cret", "tls": "none"}, "password"},
		{"unset env", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "username": "u", "password_env": "DLETTER_TEST_UNSET_VARIABLE"}, "password_env"},
		{"missing file", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "username": "u", "password_file": "/nonexistent/p"}, "password_file"},
		{"two sources", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "username": "u", "password": "p", "password_env": "X"}, "password"},
		{"wildcard domain", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "allow_recipient_domains": []any{"*.example.com"}}, "allow_recipient_domains[0]"},
		{"address for a domain", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "allow_recipient_domains": []any{"ops@example.com"}}, "allow_recipient_domains[0]"},
		{"address literal domain", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "allow_recipient_domains": []any{"example.com", "[127.0.0.1]"}}, "allow_recipient_domains[1]"},
		{"not a domain", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "allow_recipient_domains": []any{"exa mple.com"}}, "allow_recipient_domains[0]"},
		{"empty domain", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "allow_recipient_domains": []any{""}}, "allow_recipient_domains[0]"},
		{"bad to", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "to": []any{"ops@example.com", "not an address"}}, "to[1]"},
		{"to with a line break", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "to": "ops@example.com\r\nBcc: x@evil.example"}, "to[0]"},
		{"to in a literal", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "to": "ops@[127.0.0.1]"}, "to[0]"},
		{"to of the wrong type", map[string]any{"addr": "smtp.example.com:587", "from": "a@example.com", "to": 42}, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sinks.BuildSink("email", "mail", tc.raw)
			var ce *sinks.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || ce.Kind != "email" || !errors.Is(err, sinks.ErrInvalidConfig) {
				t.Fatalf("want ConfigError for key %q, got %v", tc.key, err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// The sink's decoder, through sinks.DecodeRecipient: no recipient is nil
// (Config.To), every stored form decodes, anything else is an invalid
// argument.
func TestDecodeRecipient(t *testing.T) {
	s := newSink(t, email.Config{Addr: "127.0.0.1:25", TLS: email.TLSNone})
	for _, tc := range []struct {
		raw  string
		want sinks.Recipient
	}{
		{`{"to":["a@example.com"],"cc":["b@example.com"],"bcc":["c@example.com"]}`,
			email.Recipient{To: []string{"a@example.com"}, Cc: []string{"b@example.com"}, Bcc: []string{"c@example.com"}}},
		{`{"To":["a@example.com"]}`, email.Recipient{To: []string{"a@example.com"}}},
		{`{"to":"a@example.com"}`, email.Recipient{To: []string{"a@example.com"}}},
		{`"a@example.com"`, email.Recipient{To: []string{"a@example.com"}}},
		{`["a@example.com","b@example.com"]`, email.Recipient{To: []string{"a@example.com", "b@example.com"}}},
	} {
		got, err := sinks.DecodeRecipient(s, []byte(tc.raw))
		if err != nil || !equalRecipient(got, tc.want) {
			t.Errorf("DecodeRecipient(%s) = %#v, %v; want %#v", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{`{"to":1}`, `{`, `42`, `{"cc":[1]}`} {
		if _, err := sinks.DecodeRecipient(s, []byte(raw)); !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Errorf("DecodeRecipient(%s): %v", raw, err)
		}
	}
}

func equalRecipient(a, b sinks.Recipient) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ra, rb := a.(email.Recipient), b.(email.Recipient)
	eq := func(x, y []string) bool {
		return strings.Join(x, "\x00") == strings.Join(y, "\x00") && len(x) == len(y)
	}
	return eq(ra.To, rb.To) && eq(ra.Cc, rb.Cc) && eq(ra.Bcc, rb.Bcc)
}
