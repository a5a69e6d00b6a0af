package email_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
	"github.com/dletter/dletter/sinks/sinktest"
)

// The email sink, built by its factory and logging in with a password over
// a loopback connection, passes the sink conformance suite against the test
// SMTP server.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T, target sinktest.Target) sinks.Sink {
		s, err := sinks.BuildSink("email", "mail", map[string]any{
			"addr": target.Addr, "from": "Alerts <alerts@example.com>", "tls": "none", "timeout": "10s",
			"username": testUser, "password": target.Secret,
			"to": []any{"oncall@example.com"}, "allow_recipient_domains": []any{"example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, sinktest.WithReceiver(newSMTPReceiver), sinktest.WithRecipients(func(sinktest.Target) []sinks.Recipient {
		return []sinks.Recipient{email.Recipient{To: []string{"Ops <ops@example.com>"}, Cc: []string{"lead@example.com"}, Bcc: []string{"audit@example.com"}}}
	}))
}

// smtpReceiver is the suite's far end over SMTP: the test server, which
// asks for AUTH PLAIN with testPass (the Target's Secret) in clear text on
// loopback and answers each message at the end of DATA.
type smtpReceiver struct {
	srv  *smtpServer
	hold chan struct{} // closed by Close: a held message is answered

	mu     sync.Mutex
	answer sinktest.Answer
}

func newSMTPReceiver(t testing.TB) sinktest.Receiver {
	r := &smtpReceiver{hold: make(chan struct{})}
	r.srv = startServer(t, serverOpts{mechs: []string{"PLAIN"}, clearAuth: true, reply: r.reply})
	t.Cleanup(r.Close)
	return r
}

func (r *smtpReceiver) Target() sinktest.Target {
	return sinktest.Target{Addr: r.srv.Addr, Secret: testPass}
}

// Answer takes every outcome; SMTP has no retry hint.
func (r *smtpReceiver) Answer(a sinktest.Answer) bool {
	if a.RetryAfter > 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = a
	return true
}

// Next returns the next message, answered or not; To is its envelope
// recipients.
func (r *smtpReceiver) Next(t testing.TB) sinktest.Delivery {
	t.Helper()
	m := r.srv.next(t)
	return sinktest.Delivery{To: strings.Join(m.To, ","), Raw: m.Data}
}

// Close answers held messages, then stops the server.
func (r *smtpReceiver) Close() {
	r.mu.Lock()
	select {
	case <-r.hold:
	default:
		close(r.hold)
	}
	r.mu.Unlock()
	r.srv.Close()
}

func (r *smtpReceiver) reply(m received) error {
	r.srv.got <- m
	r.mu.Lock()
	a := r.answer
	r.mu.Unlock()
	switch a.Outcome {
	case sinktest.Transient:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "sinktest: try again later"}
	case sinktest.Terminal:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sinktest: refused"}
	case sinktest.Hold:
		<-r.hold
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "sinktest: closing"}
	}
	return nil
}
