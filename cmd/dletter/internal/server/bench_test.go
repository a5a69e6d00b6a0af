package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
	"github.com/dletter/dletter/sinks"
)

// BenchmarkSend puts the daemon's POST /v1/sinks/{name}/messages beside
// calling the same webhook sink directly, both against a local receiver, so
// that the difference is the daemon's overhead (one more HTTP hop, JSON
// decoding, the Retrier, metrics). daemon-post-async is the accept path of
// "async": true (a durable append to the async log, no delivery).
func BenchmarkSend(b *testing.B) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Sinks = map[string]map[string]any{"hook": {"kind": "webhook", "url": recv.URL + "/hook"}}
	core, err := daemon.Open(cfg, daemon.Options{Async: true}) // the async loop is not started: messages stay queued
	if err != nil {
		b.Fatal(err)
	}
	defer core.Close()
	srv := httptest.NewServer(server.Handler(server.Options{Relay: core.Relay, Auth: auth.New(""), Metrics: core.Metrics}))
	defer srv.Close()
	msg := sinks.Message{Subject: "order 42", Body: `{"order":42,"total":"19.90"}`}
	body := `{"subject":"order 42","body":"{\"order\":42,\"total\":\"19.90\"}"}`

	b.Run("direct-sink", func(b *testing.B) {
		s, err := sinks.BuildSink("webhook", "hook", map[string]any{"url": recv.URL + "/hook"})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Send(ctx, nil, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("daemon-post", func(b *testing.B) {
		client := srv.Client()
		url := srv.URL + "/v1/sinks/hook/messages"
		b.ReportAllocs()
		for b.Loop() {
			res, err := client.Post(url, "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
	b.Run("daemon-post-async", func(b *testing.B) {
		client := srv.Client()
		url := srv.URL + "/v1/sinks/hook/messages"
		asyncBody := strings.TrimSuffix(body, "}") + `,"async":true}`
		b.ReportAllocs()
		for b.Loop() {
			res, err := client.Post(url, "application/json", strings.NewReader(asyncBody))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusAccepted {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
	b.Run("daemon-post-parallel", func(b *testing.B) {
		client := srv.Client()
		url := srv.URL + "/v1/sinks/hook/messages"
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	})
}
