package email_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
)

// newPolicySink builds a sink with exactly the recipient policy of cfg
// (newSink would allow example.com).
func newPolicySink(t *testing.T, cfg email.Config) *email.Sink {
	t.Helper()
	cfg.From = "Alerts <alerts@example.com>"
	cfg.TLS = email.TLSNone
	cfg.Timeout = 5 * time.Second
	s, err := email.New("mail", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refused checks that err is a terminal invalid-argument error naming
// domain, and that srv saw no connection beyond the sessions it had.
func refused(t *testing.T, srv *smtpServer, sessions int, err error, domain string) {
	t.Helper()
	if err == nil || sinks.IsTransient(err) || !errors.Is(err, sinks.ErrInvalidArgument) {
		t.Fatalf("want a terminal refusal, got %v", err)
	}
	if !strings.Contains(err.Error(), `"`+domain+`"`) {
		t.Errorf("the error does not name the domain %q: %v", domain, err)
	}
	if n := srv.Sessions(); n != sessions {
		t.Fatalf("the server saw %d connections, want %d", n, sessions)
	}
}

// Without allow_recipient_domains or allow_any_recipient, a per-call
// recipient is refused before any connection.
func TestPerCallRecipientRefusedByDefault(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newPolicySink(t, email.Config{Addr: srv.Addr})
	err := s.Send(context.Background(), email.Recipient{To: []string{"Victim <victim@elsewhere.example>"}}, sinks.Message{Subject: "x", Body: "<p>click</p>"})
	refused(t, srv, 0, err, "elsewhere.example")
	if !strings.Contains(err.Error(), "allow_recipient_domains") || strings.Contains(err.Error(), "victim@") {
		t.Errorf("error %v", err)
	}
}

// The configured to is where a message without a recipient goes, and its
// addresses may always be named; other addresses in its domain may not.
func TestConfiguredToAlwaysWorks(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newPolicySink(t, email.Config{Addr: srv.Addr, To: []string{"Ops <ops@corp.example>", "audit@corp.example"}})
	err := s.Send(context.Background(), email.Recipient{To: []string{"other@corp.example"}}, sinks.Message{Subject: "x"})
	refused(t, srv, 0, err, "corp.example")
	for _, to := range []sinks.Recipient{nil, email.Recipient{}, &email.Recipient{}, email.Recipient{Cc: []string{"OPS@Corp.Example"}}} {
		if err := s.Send(context.Background(), to, sinks.Message{Subject: "x"}); err != nil {
			t.Fatalf("%#v: %v", to, err)
		}
	}
	for i, want := range [][]string{
		{"ops@corp.example", "audit@corp.example"},
		{"ops@corp.example", "audit@corp.example"},
		{"ops@corp.example", "audit@corp.example"},
		{"OPS@Corp.Example"},
	} {
		if got := srv.next(t).To; !slices.Equal(got, want) {
			t.Errorf("message %d went to %v, want %v", i, got, want)
		}
	}
}

func TestAllowRecipientDomains(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newPolicySink(t, email.Config{Addr: srv.Addr, AllowRecipientDomains: []string{"Example.com.", "bücher.example"}})
	for _, tc := range []struct {
		rcpt   email.Recipient
		domain string // the refused domain, as written; "" when allowed
	}{
		{email.Recipient{To: []string{"a@example.com"}}, ""},
		{email.Recipient{To: []string{"A <a@EXAMPLE.COM>"}, Cc: []string{"b@Example.Com"}}, ""},
		{email.Recipient{To: []string{"a@xn--bcher-kva.example"}}, ""},
		{email.Recipient{To: []string{"a@sub.example.com"}}, "sub.example.com"},
		{email.Recipient{To: []string{"a@example.com.evil.example"}}, "example.com.evil.example"},
		{email.Recipient{To: []string{"a@evilexample.com"}}, "evilexample.com"},
		{email.Recipient{To: []string{`"a@example.com"@evil.example`}}, "evil.example"},
		{email.Recipient{To: []string{"a@[127.0.0.1]"}}, "[127.0.0.1]"},
		{email.Recipient{To: []string{"a@xn--bcher-kva.example.evil"}}, "xn--bcher-kva.example.evil"},
		// One address out of bounds refuses the whole message.
		{email.Recipient{To: []string{"a@example.com"}, Bcc: []string{"spy@evil.example"}}, "evil.example"},
	} {
		before := srv.Sessions()
		err := s.Send(context.Background(), tc.rcpt, sinks.Message{Subject: "x"})
		if tc.domain != "" {
			refused(t, srv, before, err, tc.domain)
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tc.rcpt, err)
		}
		if got := srv.next(t).To; len(got) != len(tc.rcpt.To)+len(tc.rcpt.Cc) {
			t.Fatalf("%+v went to %v", tc.rcpt, got)
		}
	}
}

// A Unicode domain is the same domain as its punycode form, in any case.
func TestAllowRecipientDomainsIDNA(t *testing.T) {
	srv := startServer(t, serverOpts{})
	for _, allowed := range []string{"bücher.example", "xn--bcher-kva.example", "BÜCHER.example"} {
		s := newPolicySink(t, email.Config{Addr: "127.0.0.1:1", AllowRecipientDomains: []string{allowed}})
		for _, addr := range []string{"a@bücher.example", "a@xn--bcher-kva.example", "a@Bücher.Example"} {
			// Allowed: the send goes on to the (closed) port and fails
			// there, transiently, never as a refusal.
			err := s.Send(context.Background(), email.Recipient{To: []string{addr}}, sinks.Message{Subject: "x"})
			if errors.Is(err, sinks.ErrInvalidArgument) {
				t.Errorf("allow %q, send to %q: %v", allowed, addr, err)
			}
		}
		s = newPolicySink(t, email.Config{Addr: srv.Addr, AllowRecipientDomains: []string{allowed}})
		err := s.Send(context.Background(), email.Recipient{To: []string{"a@bucher.example"}}, sinks.Message{Subject: "x"})
		refused(t, srv, 0, err, "bucher.example")
	}
}

func TestAllowAnyRecipient(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newPolicySink(t, email.Config{Addr: srv.Addr, AllowAnyRecipient: true})
	if err := s.Send(context.Background(), email.Recipient{To: []string{"a@anywhere.example"}}, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.next(t).To; !slices.Equal(got, []string{"a@anywhere.example"}) {
		t.Fatalf("went to %v", got)
	}
}

func TestFactoryRecipientPolicy(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s, err := sinks.BuildSink("email", "mail", map[string]any{
		"addr": srv.Addr, "from": "a@example.com", "tls": "none",
		"to": "Ops <ops@corp.example>", "allow_recipient_domains": []any{"partner.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []sinks.Recipient{nil, email.Recipient{To: []string{"x@partner.example"}}} {
		if err := s.Send(context.Background(), to, sinks.Message{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := srv.next(t).To, srv.next(t).To; !slices.Equal(a, []string{"ops@corp.example"}) || !slices.Equal(b, []string{"x@partner.example"}) {
		t.Fatalf("went to %v and %v", a, b)
	}
	err = s.Send(context.Background(), email.Recipient{To: []string{"x@corp.example"}}, sinks.Message{Subject: "x"})
	if !errors.Is(err, sinks.ErrInvalidArgument) {
		t.Fatalf("x@corp.example: %v", err)
	}

	s, err = sinks.BuildSink("email", "mail", map[string]any{
		"addr": srv.Addr, "from": "a@example.com", "tls": "none", "allow_any_recipient": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), email.Recipient{To: []string{"y@anywhere.example"}}, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	srv.next(t)
}
