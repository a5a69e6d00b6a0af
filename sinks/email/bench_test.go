package email_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
)

// BenchmarkSend puts the sink (build the MIME message, dial, EHLO, send,
// QUIT) beside go-smtp's client sending ready-made bytes over the same kind
// of connection to the same loopback server: the difference is what
// building the message and classifying the outcome cost.
func BenchmarkSend(b *testing.B) {
	srv := startServer(b, serverOpts{discard: true})
	to := email.Recipient{To: []string{"Ops <ops@example.com>"}}
	msg := sinks.Message{Subject: "Disk füll on db1", Body: alertMessage.Body, Metadata: alertMessage.Metadata}
	ctx := sinks.WithDeliveryID(context.Background(), "bench")

	b.Run("sink", func(b *testing.B) {
		s := newSink(b, email.Config{Addr: srv.Addr, TLS: email.TLSNone})
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Send(ctx, to, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-go-smtp", func(b *testing.B) {
		data := []byte("From: alerts@example.com\r\nTo: ops@example.com\r\nSubject: Disk full on db1\r\n\r\n" + alertBytes)
		b.ReportAllocs()
		for b.Loop() {
			c, err := smtp.Dial(srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.SendMail("alerts@example.com", []string{"ops@example.com"}, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if err := c.Quit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
