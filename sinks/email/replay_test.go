package email_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/email"
	"github.com/dletter/dletter/sinks/internal/sinktest"
)

// A message refused with 5xx goes to a FileDLQ on disk; replayed once the
// server accepts it, it reaches the same To, Cc and Bcc addresses with
// the same Message-ID.
func TestReplayFromFileDLQ(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	srv := startServer(t, serverOpts{rcptErr: func(string) error {
		if refuse.Load() {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay denied"}
		}
		return nil
	}})
	dlq, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq), sinks.WithRetrierOptions(sinks.WithClock(sinktest.NewClock(fixedNow))))
	if err := reg.Register(newSink(t, email.Config{Addr: srv.Addr, TLS: email.TLSNone})); err != nil {
		t.Fatal(err)
	}
	to := email.Recipient{To: []string{"Ops <ops@example.com>"}, Cc: []string{"lead@example.com"}, Bcc: []string{"audit@example.com"}}
	err = reg.Send(context.Background(), "mail", to, sinks.Message{Subject: "x", Body: "<p>y</p>"})
	var dl *sinks.DeadLetterError
	if !errors.As(err, &dl) {
		t.Fatalf("want a dead-lettered message, got %v", err)
	}

	refuse.Store(false)
	if err := dlq.Replay(context.Background(), dl.ID); err != nil {
		t.Fatal(err)
	}
	got := srv.next(t)
	if want := []string{"ops@example.com", "lead@example.com", "audit@example.com"}; !slices.Equal(got.To, want) {
		t.Fatalf("replay reached %q, want %q", got.To, want)
	}
	item, err := dlq.Get(context.Background(), dl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !contains(got.Data, "Message-ID: <dletter."+item.DeliveryID+"@example.com>") {
		t.Fatalf("replayed message lacks the item's Message-ID %q:\n%s", item.DeliveryID, got.Data)
	}
}
