package email_test

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
)

// newSink builds a sink; unless cfg says otherwise, per-call recipients
// in example.com are allowed, which most tests send to.
func newSink(t testing.TB, cfg email.Config) *email.Sink {
	t.Helper()
	if cfg.To == nil && cfg.AllowRecipientDomains == nil && !cfg.AllowAnyRecipient {
		cfg.AllowRecipientDomains = []string{"example.com"}
	}
	if cfg.From == "" {
		cfg.From = `"Alerts" <alerts@example.com>`
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := email.New("mail", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	boundaryRE = regexp.MustCompile(`boundary=([0-9a-zA-Z'()+_,./:=?-]+)`)
	dateRE     = regexp.MustCompile(`(?m)^Date: (.*)\r$`)
)

// withBoundary returns want with BOUNDARY replaced by the boundary got
// declares (the library picks a random one), DATE by the date got declares,
// which must lie between since and now, and CRLF line ends.
func withBoundary(t *testing.T, got, want string, since time.Time) string {
	t.Helper()
	m := boundaryRE.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no boundary in:\n%s", got)
	}
	d := dateRE.FindStringSubmatch(got)
	if d == nil {
		t.Fatalf("no Date in:\n%s", got)
	}
	date, err := mail.ParseDate(d[1])
	if err != nil || date.Before(since.Truncate(time.Second)) || date.After(time.Now()) {
		t.Fatalf("Date %q (%v), want a time between %v and now", d[1], err, since)
	}
	want = strings.NewReplacer("BOUNDARY", m[1], "DATE", d[1], "\n", "\r\n").Replace(want)
	return want
}

var alertRecipient = email.Recipient{
	To:  []string{"Ops Team <ops@example.com>", "dev@example.com"},
	Cc:  []string{"lead@example.com"},
	Bcc: []string{"audit@example.com"},
}

var alertMessage = sinks.Message{
	Subject: "Disk füll on db1",
	Body: `<p>Disk <b>97%</b> &amp; rising</p><ul><li>db1</li><li>db2</li></ul>` +
		`<p><a href="https://grafana.example.com/d/1">dashboard</a></p>`,
	Metadata: map[string]string{"env": "prod", "team": "sre"},
}

const alertBytes = `Date: DATE
MIME-Version: 1.0
Message-ID: <dletter.d-1@example.com>
Subject: =?UTF-8?q?Disk_f=C3=BCll_on_db1?=
X-Env: prod
X-Team: sre
From: "Alerts" <alerts@example.com>
To: "Ops Team" <ops@example.com>, <dev@example.com>
Cc: <lead@example.com>
Content-Type: multipart/alternative;
 boundary=BOUNDARY

--BOUNDARY
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain; charset=UTF-8

Disk 97% & rising

- db1
- db2

dashboard (https://grafana.example.com/d/1)
--BOUNDARY
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html; charset=UTF-8

<p>Disk <b>97%</b> &amp; rising</p><ul><li>db1</li><li>db2</li></ul><p><a h=
ref=3D"https://grafana.example.com/d/1">dashboard</a></p>
--BOUNDARY--
`

func TestSendSTARTTLSAuthPlainExactBytes(t *testing.T) {
	pki := newPKI(t)
	srv := startServer(t, serverOpts{tls: pki.server, mechs: []string{"PLAIN", "LOGIN"}})
	s := newSink(t, email.Config{Addr: srv.Addr, Username: testUser, Password: testPass, TLSConfig: pkiClient(pki)})
	ctx := sinks.WithDeliveryID(context.Background(), "d-1")
	sent := time.Now()
	if err := s.Send(ctx, alertRecipient, alertMessage); err != nil {
		t.Fatal(err)
	}
	got := srv.next(t)
	if !got.TLS || got.Auth != "PLAIN" || got.User != testUser {
		t.Errorf("session: TLS %v, AUTH %q as %q", got.TLS, got.Auth, got.User)
	}
	if got.From != "alerts@example.com" {
		t.Errorf("MAIL FROM %q", got.From)
	}
	if want := []string{"ops@example.com", "dev@example.com", "lead@example.com", "audit@example.com"}; !slices.Equal(got.To, want) {
		t.Errorf("RCPT TO %q, want %q", got.To, want)
	}
	if want := withBoundary(t, got.Data, alertBytes, sent); got.Data != want {
		t.Errorf("message bytes\n got:\n%s\nwant:\n%s", got.Data, want)
	}
	if strings.Contains(got.Data, "audit@") {
		t.Error("a Bcc address appears in the message")
	}
}

func TestSendImplicitTLSAuthLogin(t *testing.T) {
	pki := newPKI(t)
	srv := startServer(t, serverOpts{tls: pki.server, implicit: true, mechs: []string{"LOGIN"}})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSImplicit, Username: testUser, Password: testPass, TLSConfig: pkiClient(pki)})
	if err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "hi", Body: "plain"}); err != nil {
		t.Fatal(err)
	}
	got := srv.next(t)
	if !got.TLS || got.Auth != "LOGIN" || got.User != testUser {
		t.Errorf("session: TLS %v, AUTH %q as %q", got.TLS, got.Auth, got.User)
	}
}

func TestSendPlainTextBody(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	ctx := sinks.WithDeliveryID(context.Background(), "d-2")
	sent := time.Now()
	err := s.Send(ctx, email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "plain", Body: "line 1\nline <2> & 3"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.next(t)
	want := withBoundary(t, got.Data, `Date: DATE
MIME-Version: 1.0
Message-ID: <dletter.d-2@example.com>
Subject: plain
From: "Alerts" <alerts@example.com>
To: <ops@example.com>
Content-Type: multipart/alternative;
 boundary=BOUNDARY

--BOUNDARY
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain; charset=UTF-8

line 1
line <2> & 3
--BOUNDARY
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html; charset=UTF-8

<!DOCTYPE html>
<html><body>line 1<br>
line &lt;2&gt; &amp; 3</body></html>
--BOUNDARY--
`, sent)
	if got.Data != want || got.TLS {
		t.Errorf("TLS %v; message bytes\n got:\n%s\nwant:\n%s", got.TLS, got.Data, want)
	}
}

func TestMessageIDStableAcrossRetries(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	msgID := regexp.MustCompile(`(?m)^Message-ID: (.*)\r$`)
	ids := map[string][]string{}
	for _, delivery := range []string{"01J9ZK", "01J9ZK", "a/b c", "a/b c", "", ""} {
		ctx := sinks.WithDeliveryID(context.Background(), delivery)
		if err := s.Send(ctx, email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
		m := msgID.FindStringSubmatch(srv.next(t).Data)
		if m == nil {
			t.Fatal("no Message-ID")
		}
		ids[delivery] = append(ids[delivery], m[1])
	}
	if got := ids["01J9ZK"]; got[0] != "<dletter.01J9ZK@example.com>" || got[1] != got[0] {
		t.Errorf("delivery 01J9ZK: %q", got)
	}
	if got := ids["a/b c"]; got[0] != got[1] || strings.ContainsAny(got[0][1:len(got[0])-1], " /<>") {
		t.Errorf("delivery with unsafe characters: %q", got)
	}
	if got := ids[""]; got[0] == got[1] {
		t.Errorf("without a delivery id each message needs its own Message-ID: %q", got)
	}
}

func TestSTARTTLSRequiredButNotOffered(t *testing.T) {
	srv := startServer(t, serverOpts{}) // no TLS config: no STARTTLS
	s := newSink(t, email.Config{Addr: srv.Addr})
	err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"})
	if err == nil || sinks.IsTransient(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("want a terminal STARTTLS error, got %v", err)
	}
}

func TestOpportunisticWithoutSTARTTLS(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSOpportunistic})
	if err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if srv.next(t).TLS {
		t.Error("no STARTTLS was offered, yet the session was TLS")
	}
}

func TestOpportunisticUpgrades(t *testing.T) {
	pki := newPKI(t)
	srv := startServer(t, serverOpts{tls: pki.server})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSOpportunistic, TLSConfig: pkiClient(pki)})
	if err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if !srv.next(t).TLS {
		t.Error("STARTTLS was offered but not used")
	}
}

func TestUntrustedCertificateIsTerminal(t *testing.T) {
	pki := newPKI(t)
	for _, mode := range []email.TLSMode{email.TLSStartTLS, email.TLSOpportunistic, email.TLSImplicit} {
		srv := startServer(t, serverOpts{tls: pki.server, implicit: mode == email.TLSImplicit})
		s := newSink(t, email.Config{Addr: srv.Addr, TLS: mode}) // system roots: the test CA is unknown
		err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"})
		if err == nil || sinks.IsTransient(err) {
			t.Errorf("%s: want a terminal certificate error, got %v", mode, err)
		}
	}
}

func TestReplyCodes(t *testing.T) {
	reply := func(code int, enhanced smtp.EnhancedCode, msg string) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
	}
	for _, tc := range []struct {
		name      string
		opts      serverOpts
		code      int
		transient bool
	}{
		{"greeting 421", serverOpts{greeting: reply(421, smtp.EnhancedCode{4, 3, 2}, "too busy")}, 421, true},
		{"mail 451", serverOpts{mailErr: reply(451, smtp.EnhancedCode{4, 3, 0}, "try later")}, 451, true},
		{"mail 550", serverOpts{mailErr: reply(550, smtp.EnhancedCode{5, 7, 1}, "sender blocked")}, 550, false},
		{"rcpt 450 greylisted", serverOpts{rcptErr: func(string) error { return reply(450, smtp.EnhancedCode{4, 2, 0}, "greylisted") }}, 450, true},
		{"rcpt 550 unknown user", serverOpts{rcptErr: func(string) error { return reply(550, smtp.EnhancedCode{5, 1, 1}, "no such user") }}, 550, false},
		{"data 452", serverOpts{dataErr: reply(452, smtp.EnhancedCode{4, 3, 1}, "storage full")}, 452, true},
		{"data 554", serverOpts{dataErr: reply(554, smtp.EnhancedCode{5, 6, 0}, "content rejected")}, 554, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
			err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"})
			if err == nil {
				t.Fatal("no error")
			}
			if sinks.IsTransient(err) != tc.transient {
				t.Errorf("IsTransient = %v, want %v: %v", !tc.transient, tc.transient, err)
			}
			var tp *textproto.Error
			if !errors.As(err, &tp) || tp.Code != tc.code {
				t.Errorf("want reply code %d exposed as *textproto.Error: %v", tc.code, err)
			}
			if !errors.Is(err, sinks.ErrSinkUnavailable) {
				t.Errorf("error does not match ErrSinkUnavailable: %v", err)
			}
		})
	}
}

func TestReplyErrorFields(t *testing.T) {
	srv := startServer(t, serverOpts{rcptErr: func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	err := s.Send(context.Background(), email.Recipient{To: []string{"nobody@example.com"}}, sinks.Message{Subject: "x"})
	var re *email.ReplyError
	if !errors.As(err, &re) || re.Code != 550 || re.EnhancedCode != "5.1.1" || re.Transient() {
		t.Fatalf("ReplyError %+v from %v", re, err)
	}
	if !strings.Contains(err.Error(), "no such user") || !strings.Contains(err.Error(), "nobody@example.com") {
		t.Errorf("error lacks the server's text or the recipient: %v", err)
	}
}

func TestBadCredentialsAreTerminal(t *testing.T) {
	pki := newPKI(t)
	srv := startServer(t, serverOpts{tls: pki.server, mechs: []string{"PLAIN"}})
	s := newSink(t, email.Config{Addr: srv.Addr, Username: testUser, Password: "wrong", TLSConfig: pkiClient(pki)})
	err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"})
	var tp *textproto.Error
	if err == nil || sinks.IsTransient(err) || !errors.As(err, &tp) || tp.Code != 535 {
		t.Fatalf("want terminal 535, got %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestNoAuthMechanism(t *testing.T) {
	pki := newPKI(t)
	srv := startServer(t, serverOpts{tls: pki.server})
	s := newSink(t, email.Config{Addr: srv.Addr, Username: testUser, Password: testPass, TLSConfig: pkiClient(pki)})
	err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"})
	if err == nil || sinks.IsTransient(err) {
		t.Fatalf("want a terminal error, got %v", err)
	}
}

func TestTransactionTimeoutIsTransient(t *testing.T) {
	srv := startServer(t, serverOpts{dataHold: make(chan struct{})})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone, Timeout: 300 * time.Millisecond})
	start := time.Now()
	err := s.Send(context.Background(), email.Recipient{To: []string{"ops@example.com"}}, sinks.Message{Subject: "x"})
	if err == nil || !sinks.IsTransient(err) {
		t.Fatalf("want transient, got %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("Send took %s with a 300ms timeout", d)
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	ok := email.Recipient{To: []string{"ops@example.com"}}
	for name, tc := range map[string]struct {
		to email.Recipient
		m  sinks.Message
	}{
		"subject CRLF":       {ok, sinks.Message{Subject: "hi\r\nBcc: victim@example.com"}},
		"subject LF":         {ok, sinks.Message{Subject: "hi\nX-Evil: 1"}},
		"subject CR":         {ok, sinks.Message{Subject: "hi\rX-Evil: 1"}},
		"to":                 {email.Recipient{To: []string{"ops@example.com\r\nBcc: victim@example.com"}}, sinks.Message{Subject: "x"}},
		"cc display name":    {email.Recipient{To: []string{"ops@example.com"}, Cc: []string{"\"a\nb\" <c@example.com>"}}, sinks.Message{Subject: "x"}},
		"bcc":                {email.Recipient{Bcc: []string{"x@example.com\n"}}, sinks.Message{Subject: "x"}},
		"metadata value":     {ok, sinks.Message{Subject: "x", Metadata: map[string]string{"env": "prod\r\nBcc: victim@example.com"}}},
		"metadata key":       {ok, sinks.Message{Subject: "x", Metadata: map[string]string{"Bcc: victim@example.com\r\nX": "1"}}},
		"metadata key colon": {ok, sinks.Message{Subject: "x", Metadata: map[string]string{"a:b": "1"}}},
		"no recipient":       {email.Recipient{}, sinks.Message{Subject: "x"}},
		"bad address":        {email.Recipient{To: []string{"not an address"}}, sinks.Message{Subject: "x"}},
	} {
		err := s.Send(context.Background(), tc.to, tc.m)
		if !errors.Is(err, sinks.ErrInvalidArgument) || sinks.IsTransient(err) {
			t.Errorf("%s: want a terminal invalid-argument error, got %v", name, err)
		}
	}
	if n := srv.Sessions(); n != 0 {
		t.Errorf("%d connections made for refused messages", n)
	}
}

func TestRecipientForms(t *testing.T) {
	srv := startServer(t, serverOpts{})
	s := newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
	for _, to := range []sinks.Recipient{
		email.Recipient{To: []string{"a@example.com"}},
		&email.Recipient{To: []string{"a@example.com"}},
		"a@example.com",
		[]string{"a@example.com"},
		json_(`{"to":["a@example.com"]}`),
	} {
		if err := s.Send(context.Background(), to, sinks.Message{Subject: "x"}); err != nil {
			t.Fatalf("%#v: %v", to, err)
		}
		if got := srv.next(t).To; !slices.Equal(got, []string{"a@example.com"}) {
			t.Errorf("%#v: RCPT %q", to, got)
		}
	}
	err := s.Send(context.Background(), 42, sinks.Message{Subject: "x"})
	if !errors.Is(err, sinks.ErrInvalidArgument) || sinks.IsTransient(err) {
		t.Errorf("recipient 42: %v", err)
	}
}

func TestPrintingHidesPassword(t *testing.T) {
	s := newSink(t, email.Config{Addr: "smtp.example.com:587", Username: "u", Password: "pa55w0rd"})
	out := fmt.Sprintf("%v %+v %#v %s", s, s, s, s)
	if strings.Contains(out, "pa55w0rd") || !strings.Contains(out, "smtp.example.com:587") {
		t.Fatalf("printed sink: %s", out)
	}
}
