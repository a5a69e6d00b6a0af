package slack_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/slack"
)

// BenchmarkSend puts the sink beside a bare http.Client POST of the same
// payload to the same loopback server.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	msg := sinks.Message{Subject: "db1 is down", Body: "replica lag > 30s on <db1>", Metadata: map[string]string{"env": "prod"}}

	b.Run("sink", func(b *testing.B) {
		s, err := slack.New("bench", slack.Config{WebhookURL: srv.URL + "/services/T/B/X"})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Send(context.Background(), nil, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-http-post", func(b *testing.B) {
		client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		defer client.CloseIdleConnections()
		body := []byte(`{"text":"*db1 is down*\nreplica lag \u0026gt; 30s on \u0026lt;db1\u0026gt;"}`)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Post(srv.URL+"/services/T/B/X", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}
