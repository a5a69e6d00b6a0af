package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/webhook"
)

// BenchmarkSend puts the sink beside a bare http.Client POST of a body of
// the same size to the same loopback server: the difference is what the
// payload, the signature and the error handling cost.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	msg := sinks.Message{Subject: "order paid", Body: `{"order":1042,"total":"19.90","items":[1,2,3]}`,
		Metadata: map[string]string{"shop": "eu"}}
	ctx := sinks.WithDeliveryID(context.Background(), "01J9ZK3V5WQ8")

	for _, tc := range []struct {
		name   string
		secret string
	}{{"sink-unsigned", ""}, {"sink-signed", vectorSecret}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := webhook.New("bench", webhook.Config{URL: srv.URL, Secret: tc.secret})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(ctx, nil, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("raw-http-post", func(b *testing.B) {
		client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		defer client.CloseIdleConnections()
		body := []byte(`{"id":"01J9ZK3V5WQ8","subject":"order paid","body":{"order":1042,"total":"19.90","items":[1,2,3]},"metadata":{"shop":"eu"}}`)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}
