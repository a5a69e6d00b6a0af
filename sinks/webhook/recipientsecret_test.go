package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

// Secrets of partner hosts, distinct from vectorSecret (the configured
// URL's).
const (
	partnerSecret     = "whsec_cGFydG5lci1ob3N0LXNlY3JldC1rZXktMzJieXRlcyE="
	partnerPortSecret = "whsec_cGFydG5lci1wb3J0LXNlY3JldC1rZXktMzJieXRlcyE="
)

// headerNames returns the names of h that the sink sets, sorted: those
// net/http adds by itself are left out.
func headerNames(h map[string][]string) []string {
	var names []string
	for k := range h {
		switch k {
		case "User-Agent", "Accept-Encoding", "Content-Length":
			continue
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func hostOf(t *testing.T, srv *httpsinktest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// The configured URL gets the configured headers and secret; a per-call
// URL gets neither: it is signed with its host's own secret, or not at all.
func TestPerCallRecipientsGetNoConfiguredCredentials(t *testing.T) {
	main := httpsinktest.NewServer(t, nil)
	partner := httpsinktest.NewServer(t, nil)
	bare := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{
		URL:                 main.URL + "/in",
		Headers:             map[string]string{"Authorization": "Bearer main-api-key", "X-Team": "ops"},
		Secret:              vectorSecret,
		AllowRecipientHosts: []string{hostOf(t, partner), hostOf(t, bare)},
		RecipientSecrets:    map[string]string{hostOf(t, partner): partnerSecret},
		// The receivers are on loopback.
		AllowPrivateRecipients: true,
	})
	ctx := sinks.WithDeliveryID(context.Background(), "d1")
	for _, to := range []sinks.Recipient{nil, webhook.Recipient{URL: partner.URL + "/p"}, webhook.Recipient{URL: bare.URL + "/b"}} {
		if err := s.Send(ctx, to, sinks.Message{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		srv    *httpsinktest.Server
		header []string
		secret string // that signs; "" for none
	}{
		{"configured", main, []string{"Authorization", "Content-Type", "Webhook-Id", "Webhook-Signature", "Webhook-Timestamp", "X-Team"}, vectorSecret},
		{"partner with a secret", partner, []string{"Content-Type", "Webhook-Id", "Webhook-Signature", "Webhook-Timestamp"}, partnerSecret},
		{"partner without a secret", bare, []string{"Content-Type", "Webhook-Id", "Webhook-Timestamp"}, ""},
	} {
		got := tc.srv.Next(t)
		if names := headerNames(got.Header); !slices.Equal(names, tc.header) {
			t.Errorf("%s: headers %v, want %v", tc.name, names, tc.header)
		}
		if got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Webhook-Id") != "d1" {
			t.Errorf("%s: headers %v", tc.name, got.Header)
		}
		if tc.name == "configured" && (got.Header.Get("Authorization") != "Bearer main-api-key" || got.Header.Get("X-Team") != "ops") {
			t.Errorf("configured: headers %v", got.Header)
		}
		sig := got.Header.Get("Webhook-Signature")
		verifyWith := func(secret string) error {
			return verify(secret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), sig, []byte(got.Body))
		}
		if tc.secret != "" {
			if err := verifyWith(tc.secret); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		if tc.srv != main && verifyWith(vectorSecret) == nil {
			t.Errorf("%s: signed with the configured URL's secret", tc.name)
		}
	}
}

// A secret for host:port is preferred over one for the host alone.
func TestRecipientSecretPortBeforeHost(t *testing.T) {
	main := httpsinktest.NewServer(t, nil)
	a := httpsinktest.NewServer(t, nil)
	b := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{
		URL:                 main.URL,
		AllowRecipientHosts: []string{"127.0.0.1"},
		RecipientSecrets:    map[string]string{"127.0.0.1": partnerSecret, hostOf(t, a): partnerPortSecret},

		AllowPrivateRecipients: true,
	})
	for srv, secret := range map[*httpsinktest.Server]string{a: partnerPortSecret, b: partnerSecret} {
		if err := s.Send(context.Background(), webhook.Recipient{URL: srv.URL}, sinks.Message{}); err != nil {
			t.Fatal(err)
		}
		got := srv.Next(t)
		if err := verify(secret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), got.Header.Get("Webhook-Signature"), []byte(got.Body)); err != nil {
			t.Errorf("%s: %v", srv.URL, err)
		}
	}
	main.None(t)
}

// recipient_secrets takes each secret inline (with ${NAME}), from a
// variable or from a file.
func TestFactoryRecipientSecrets(t *testing.T) {
	main := httpsinktest.NewServer(t, nil)
	inline, env, file := httpsinktest.NewServer(t, nil), httpsinktest.NewServer(t, nil), httpsinktest.NewServer(t, nil)
	t.Setenv("DLETTER_TEST_PARTNER_SECRET", partnerSecret)
	path := filepath.Join(t.TempDir(), "partner")
	if err := os.WriteFile(path, []byte(partnerSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sinks.BuildSink("webhook", "hooks", map[string]any{
		"url":                      main.URL,
		"secret":                   vectorSecret,
		"allow_recipient_hosts":    []any{"127.0.0.1"},
		"allow_private_recipients": true,
		"recipient_secrets": map[string]any{
			hostOf(t, inline): "${DLETTER_TEST_PARTNER_SECRET}",
			hostOf(t, env):    map[string]any{"secret_env": "DLETTER_TEST_PARTNER_SECRET"},
			hostOf(t, file):   map[string]any{"secret_file": path},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*httpsinktest.Server{inline, env, file} {
		if err := s.Send(context.Background(), webhook.Recipient{URL: srv.URL}, sinks.Message{}); err != nil {
			t.Fatal(err)
		}
		got := srv.Next(t)
		if err := verify(partnerSecret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), got.Header.Get("Webhook-Signature"), []byte(got.Body)); err != nil {
			t.Errorf("%s: %v", srv.URL, err)
		}
	}
}

// TestReplayOfAPerCallMessageIsSignedWithItsHostSecret: a message sent to a
// per-call URL and dead-lettered keeps its recipient in a FileDLQ; its
// replay goes to the same URL, signed with that host's secret (not the
// configured URL's), under the same webhook-id.
func TestReplayOfAPerCallMessageIsSignedWithItsHostSecret(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	partner := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if refuse.Load() {
			w.WriteHeader(http.StatusBadRequest) // terminal: dead-lettered at once
		}
	})
	main := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{
		URL:                    main.URL + "/in",
		Headers:                map[string]string{"Authorization": "Bearer main-api-key"},
		Secret:                 vectorSecret,
		AllowRecipientHosts:    []string{hostOf(t, partner)},
		RecipientSecrets:       map[string]string{hostOf(t, partner): partnerSecret},
		AllowPrivateRecipients: true, // the receivers are on loopback
	})
	dlq, err := sinks.OpenFileDLQ(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dlq.Close() })
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq))
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	ctx := sinks.WithDeliveryID(context.Background(), "order-7")
	err = reg.Send(ctx, s.Name(), webhook.Recipient{URL: partner.URL + "/p"}, sinks.Message{Subject: "order 7"})
	var dl *sinks.DeadLetterError
	if !errors.As(err, &dl) {
		t.Fatalf("send to a refusing partner: %v; want it dead-lettered", err)
	}
	partner.Next(t) // the refused attempt

	refuse.Store(false)
	if err := dlq.Replay(context.Background(), dl.ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	got := partner.Next(t)
	id, ts, sig := got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), got.Header.Get("Webhook-Signature")
	if got.Path != "/p" || id != "order-7" || got.Header.Get("Authorization") != "" {
		t.Fatalf("the replay reached %s with headers %v; want /p, webhook-id order-7 and no configured credentials", got.Path, got.Header)
	}
	if err := verify(partnerSecret, id, ts, sig, []byte(got.Body)); err != nil {
		t.Errorf("the replay is not signed with the partner's secret: %v", err)
	}
	if verify(vectorSecret, id, ts, sig, []byte(got.Body)) == nil {
		t.Error("the replay is signed with the configured URL's secret")
	}
}
