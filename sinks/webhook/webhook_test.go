package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

func newSink(t testing.TB, cfg webhook.Config) *webhook.Sink {
	t.Helper()
	s, err := webhook.New("hooks", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSendExactRequest(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{
		URL:     rc.URL + "/hooks/in?x=1",
		Secret:  vectorSecret,
		Headers: map[string]string{"Authorization": "Bearer t0ken", "x-team": "ops"},
	})
	ctx := sinks.WithDeliveryID(context.Background(), vectorID)
	msg := sinks.Message{Subject: "disk full", Body: `{"host": "db1", "pct": 97}`, Metadata: map[string]string{"env": "prod"}}
	before := time.Now().Unix()
	if err := s.Send(ctx, nil, msg); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	got := rc.Next(t)
	if got.Method != http.MethodPost || got.Path != "/hooks/in" || got.Query != "x=1" {
		t.Fatalf("request line: %s %s?%s", got.Method, got.Path, got.Query)
	}
	wantBody := `{"id":"msg_p5jXN8AQM9LWM0D4loKWxJek","subject":"disk full","body":{"host":"db1","pct":97},"metadata":{"env":"prod"}}`
	if got.Body != wantBody {
		t.Fatalf("body:\n got %s\nwant %s", got.Body, wantBody)
	}
	wantHeader := map[string]string{
		"Content-Type":   "application/json",
		"Authorization":  "Bearer t0ken",
		"X-Team":         "ops",
		"Webhook-Id":     vectorID,
		"Content-Length": fmt.Sprint(len(wantBody)),
	}
	for k, v := range wantHeader {
		if g := got.Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if ts, err := strconv.ParseInt(got.Header.Get("Webhook-Timestamp"), 10, 64); err != nil || ts < before || ts > after {
		t.Errorf("header Webhook-Timestamp = %q, want the time of the send, between %d and %d", got.Header.Get("Webhook-Timestamp"), before, after)
	}
	sig := got.Header.Get("Webhook-Signature")
	if err := verify(vectorSecret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), sig, []byte(got.Body)); err != nil {
		t.Fatalf("signature %q: %v", sig, err)
	}
	var env webhook.Payload
	if err := json.Unmarshal([]byte(got.Body), &env); err != nil || env.ID != vectorID || env.Metadata["env"] != "prod" {
		t.Fatalf("payload %+v, %v", env, err)
	}
}

func TestSendRotatedSecretsSignEach(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	newSecret := "whsec_" + "c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM="
	s := newSink(t, webhook.Config{URL: rc.URL, Secret: newSecret + " " + vectorSecret})
	if err := s.Send(context.Background(), nil, sinks.Message{Body: "plain text"}); err != nil {
		t.Fatal(err)
	}
	got := rc.Next(t)
	sigs := strings.Split(got.Header.Get("Webhook-Signature"), " ")
	if len(sigs) != 2 {
		t.Fatalf("want 2 signatures, got %q", sigs)
	}
	for i, secret := range []string{newSecret, vectorSecret} {
		if err := verify(secret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), sigs[i], []byte(got.Body)); err != nil {
			t.Errorf("secret %d: %v", i, err)
		}
	}
	if !strings.Contains(got.Body, `"body":"plain text"`) {
		t.Errorf("a body that is not JSON must travel as a string: %s", got.Body)
	}
}

func TestSendWithoutSecretHasNoSignature(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{URL: rc.URL})
	if err := s.Send(context.Background(), nil, sinks.Message{Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	got := rc.Next(t)
	if v, ok := got.Header["Webhook-Signature"]; ok {
		t.Fatalf("unsigned sink sent webhook-signature %q", v)
	}
	if id := got.Header.Get("Webhook-Id"); !strings.HasPrefix(id, "msg_") || len(id) < 20 {
		t.Fatalf("generated webhook-id %q", id)
	}
	if got.Body != `{"id":"`+got.Header.Get("Webhook-Id")+`","subject":"s"}` {
		t.Fatalf("body %s", got.Body)
	}
}

func TestDeliveryIDStableAcrossRetries(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{URL: rc.URL})
	for _, tc := range []struct{ delivery, want string }{
		{"01J9ZK3V5W", "01J9ZK3V5W"},
		{"a.b", ""}, // '.' is not allowed in webhook-id: a digest stands for it
		{"line\nbreak", ""},
	} {
		ctx := sinks.WithDeliveryID(context.Background(), tc.delivery)
		var ids []string
		for range 2 {
			if err := s.Send(ctx, nil, sinks.Message{}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rc.Next(t).Header.Get("Webhook-Id"))
		}
		if ids[0] != ids[1] {
			t.Errorf("delivery %q: ids differ across sends: %q", tc.delivery, ids)
		}
		if tc.want != "" && ids[0] != tc.want {
			t.Errorf("delivery %q: id %q, want %q", tc.delivery, ids[0], tc.want)
		}
		if strings.ContainsAny(ids[0], ".\r\n") {
			t.Errorf("delivery %q: id %q has a forbidden character", tc.delivery, ids[0])
		}
	}
}

func TestStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		status    int
		transient bool
		text      string
	}{
		{200, false, ""},
		{202, false, ""},
		{204, false, ""},
		{400, false, "400 Bad Request"},
		{401, false, "401"},
		{404, false, "404"},
		{408, true, "408"},
		{410, false, "endpoint gone"},
		{422, false, "422"},
		{425, true, "425"},
		{429, true, "429"},
		{500, true, "500"},
		{501, true, "501"},
		{502, true, "502"},
		{503, true, "503"},
		{504, true, "504"},
		{507, true, "507"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			rc := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, "reason from receiver")
			})
			s := newSink(t, webhook.Config{URL: rc.URL})
			err := s.Send(context.Background(), nil, sinks.Message{Subject: "x"})
			if tc.text == "" {
				if err != nil {
					t.Fatalf("status %d: %v", tc.status, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("status %d: no error", tc.status)
			}
			if got := sinks.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient = %v, want %v (%v)", got, tc.transient, err)
			}
			var se *sinks.StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status {
				t.Errorf("want *sinks.StatusError %d in %v", tc.status, err)
			}
			if !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "reason from receiver") {
				t.Errorf("error %q lacks %q or the receiver's reason", err, tc.text)
			}
			if !errors.Is(err, sinks.ErrSinkUnavailable) {
				t.Errorf("error does not match ErrSinkUnavailable: %v", err)
			}
		})
	}
}

// A Retry-After date is measured against the time of the response: a date
// 90s ahead, which has whole seconds only, is a hint of 89 to 90s.
func TestRetryAfter(t *testing.T) {
	rc := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	s := newSink(t, webhook.Config{URL: rc.URL})
	err := s.Send(context.Background(), nil, sinks.Message{})
	d, ok := sinks.RetryAfterHint(err)
	if !ok || d < 89*time.Second || d > 90*time.Second || !sinks.IsTransient(err) {
		t.Errorf("Retry-After 90s ahead: hint %v %v, transient %v, want 89s to 90s", d, ok, sinks.IsTransient(err))
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	elsewhere := httpsinktest.NewServer(t, nil)
	rc := httpsinktest.NewServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/moved", http.StatusTemporaryRedirect)
	})
	s := newSink(t, webhook.Config{URL: rc.URL})
	err := s.Send(context.Background(), nil, sinks.Message{})
	if err == nil || sinks.IsTransient(err) || !strings.Contains(err.Error(), "redirect not followed") {
		t.Fatalf("redirect: %v", err)
	}
	rc.Next(t)
	elsewhere.None(t)
}

func TestCredentialsNeverInErrors(t *testing.T) {
	// Many providers put the credential in the path (/hooks/<token>), others
	// in the user information or the query: an error names scheme and host
	// only.
	const user, pass, token, pathSecret = "alice", "pa55w0rd", "s3cr3tt0k3n", "p4thk3y"
	var origin string
	withCreds := func(base string) string {
		u, _ := url.Parse(base)
		origin = u.Scheme + "://" + u.Host
		u.User = url.UserPassword(user, pass)
		u.Path = "/hooks/" + pathSecret
		u.RawQuery = "token=" + token
		return u.String()
	}
	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		for _, secret := range []string{pass, token, user + ":", pathSecret, "/hooks"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows %q: %v", secret, err)
			}
		}
		if !strings.Contains(err.Error(), "POST "+origin+":") {
			t.Errorf("error should name the endpoint by scheme and host (%s): %v", origin, err)
		}
	}
	t.Run("status", func(t *testing.T) {
		rc := httpsinktest.NewServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		s := newSink(t, webhook.Config{URL: withCreds(rc.URL)})
		err := s.Send(context.Background(), nil, sinks.Message{})
		check(t, err)
		if got := rc.Next(t); got.Header.Get("Authorization") == "" {
			t.Error("user info in the URL must still authenticate the request")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		rc := httpsinktest.Blocking(t)
		s := newSink(t, webhook.Config{URL: withCreds(rc.URL), Timeout: 50 * time.Millisecond})
		err := s.Send(context.Background(), nil, sinks.Message{})
		check(t, err)
		if !sinks.IsTransient(err) {
			t.Errorf("a timeout must be transient: %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		_, err := webhook.New("hooks", webhook.Config{URL: "ftp://" + user + ":" + pass + "@example.com/?token=" + token})
		if err == nil || strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), token) {
			t.Fatalf("config error: %v", err)
		}
	})
}

func TestRecipientOverride(t *testing.T) {
	configured := httpsinktest.NewServer(t, nil)
	other := httpsinktest.NewServer(t, nil)
	otherURL, _ := url.Parse(other.URL)

	t.Run("refused without allowlist", func(t *testing.T) {
		s := newSink(t, webhook.Config{URL: configured.URL})
		err := s.Send(context.Background(), webhook.Recipient{URL: other.URL + "/x?key=k3y"}, sinks.Message{})
		if err == nil || sinks.IsTransient(err) || !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Fatalf("override without allowlist: %v", err)
		}
		if strings.Contains(err.Error(), "k3y") {
			t.Errorf("error shows the query: %v", err)
		}
		other.None(t)
		configured.None(t)
	})
	t.Run("allowed host", func(t *testing.T) {
		s := newSink(t, webhook.Config{URL: configured.URL, AllowRecipientHosts: []string{otherURL.Host}, AllowPrivateRecipients: true})
		for _, to := range []sinks.Recipient{
			webhook.Recipient{URL: other.URL + "/a"},
			&webhook.Recipient{URL: other.URL + "/b"},
			json.RawMessage(`{"url":"` + other.URL + `/c"}`),
		} {
			if err := s.Send(context.Background(), to, sinks.Message{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{"/a", "/b", "/c"} {
			if got := other.Next(t); got.Path != p {
				t.Errorf("path %q, want %q", got.Path, p)
			}
		}
		// An empty recipient means the configured URL.
		if err := s.Send(context.Background(), webhook.Recipient{}, sinks.Message{}); err != nil {
			t.Fatal(err)
		}
		configured.Next(t)
	})
	t.Run("other port refused", func(t *testing.T) {
		s := newSink(t, webhook.Config{URL: configured.URL, AllowRecipientHosts: []string{"127.0.0.1:1"}})
		err := s.Send(context.Background(), webhook.Recipient{URL: other.URL}, sinks.Message{})
		if err == nil || sinks.IsTransient(err) {
			t.Fatalf("want refusal, got %v", err)
		}
		other.None(t)
	})
	t.Run("wrong type", func(t *testing.T) {
		s := newSink(t, webhook.Config{URL: configured.URL})
		err := s.Send(context.Background(), 42, sinks.Message{})
		if !errors.Is(err, sinks.ErrInvalidArgument) || sinks.IsTransient(err) {
			t.Fatalf("recipient 42: %v", err)
		}
	})
}

func TestAllowRecipientHostRules(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	for _, tc := range []struct {
		rule, target string
		ok           bool
	}{
		{"hooks.example.com", "https://hooks.example.com/x", true},
		{"HOOKS.example.com", "https://hooks.Example.com:8443/x", true},
		{"hooks.example.com:8443", "https://hooks.example.com:8443/x", true},
		{"hooks.example.com:8443", "https://hooks.example.com/x", false},
		{"hooks.example.com:443", "https://hooks.example.com/x", true},
		{"*.example.com", "https://a.b.example.com/x", true},
		{"*.example.com", "https://example.com/x", false},
		{"*.example.com", "https://evilexample.com/x", false},
		{"example.com", "https://example.com.evil.net/x", false},
		{"example.com", "https://evil.net/?example.com", false},
		{"example.com", "https://example.com@evil.net/", false},
	} {
		// A refused host fails before any connection; an allowed one is
		// attempted and fails on DNS or connection, which is transient or
		// terminal but never an invalid argument.
		s := newSink(t, webhook.Config{URL: rc.URL, AllowRecipientHosts: []string{tc.rule}, Timeout: 200 * time.Millisecond,
			Transport: refuseTransport{}, AllowPrivateRecipients: true})
		err := s.Send(context.Background(), webhook.Recipient{URL: tc.target}, sinks.Message{})
		refused := errors.Is(err, sinks.ErrInvalidArgument)
		if refused == tc.ok {
			t.Errorf("rule %q, target %q: refused=%v, want allowed=%v (%v)", tc.rule, tc.target, refused, tc.ok, err)
		}
	}
}

// refuseTransport fails every request without touching the network.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("transport refused")
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  webhook.Config
		key  string
	}{
		{"no url", webhook.Config{}, "url"},
		{"relative url", webhook.Config{URL: "/hook"}, "url"},
		{"bad scheme", webhook.Config{URL: "file:///etc/passwd"}, "url"},
		{"content-type", webhook.Config{URL: "http://h/", Headers: map[string]string{"content-type": "text/plain"}}, "headers.content-type"},
		{"signature", webhook.Config{URL: "http://h/", Headers: map[string]string{"Webhook-Signature": "v1,x"}}, "headers.Webhook-Signature"},
		{"host", webhook.Config{URL: "http://h/", Headers: map[string]string{"Host": "evil"}}, "headers.Host"},
		{"header injection", webhook.Config{URL: "http://h/", Headers: map[string]string{"X-A": "v\r\nX-B: w"}}, "headers.X-A"},
		{"bad header name", webhook.Config{URL: "http://h/", Headers: map[string]string{"X A": "v"}}, "headers.X A"},
		{"bad secret", webhook.Config{URL: "http://h/", Secret: "whsec_short"}, "secret"},
		{"bad allow rule", webhook.Config{URL: "http://h/", AllowRecipientHosts: []string{"http://x/"}}, "allow_recipient_hosts[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.New("hooks", tc.cfg)
			var ce *sinks.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || !errors.Is(err, sinks.ErrInvalidConfig) {
				t.Fatalf("want a ConfigError for key %q, got %v", tc.key, err)
			}
		})
	}
}

func TestPrintingHidesSecrets(t *testing.T) {
	s := newSink(t, webhook.Config{URL: "https://u:pa55@h.example.com/hooks/p4thk3y?token=t0k", Secret: vectorSecret,
		Headers: map[string]string{"Authorization": "Bearer b34rer"}})
	out := fmt.Sprintf("%v %+v %#v %s", s, s, s, s)
	for _, secret := range []string{"pa55", "t0k", "MfKQ9r8", "b34rer", "p4thk3y"} {
		if strings.Contains(out, secret) {
			t.Fatalf("printed sink shows %q: %s", secret, out)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	rc := httpsinktest.NewServer(t, nil)
	s := newSink(t, webhook.Config{URL: rc.URL, Secret: vectorSecret})
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.Send(sinks.WithDeliveryID(context.Background(), fmt.Sprint("d", i)), nil, sinks.Message{Subject: "x"})
		}()
	}
	ids := map[string]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		got := rc.Next(t)
		if err := verify(vectorSecret, got.Header.Get("Webhook-Id"), got.Header.Get("Webhook-Timestamp"), got.Header.Get("Webhook-Signature"), []byte(got.Body)); err != nil {
			t.Fatal(err)
		}
		ids[got.Header.Get("Webhook-Id")] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct ids, want %d", len(ids), n)
	}
}

func TestTLS(t *testing.T) {
	srv := httpsinktest.NewTLSServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	// Unknown certificate authority: terminal, and the query stays hidden.
	s := newSink(t, webhook.Config{URL: srv.URL + "/in?token=s3cr3t"})
	err := s.Send(context.Background(), nil, sinks.Message{})
	if err == nil || sinks.IsTransient(err) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	// Trusted through Config.Transport: delivered.
	s = newSink(t, webhook.Config{URL: srv.URL + "/in", Transport: srv.Client().Transport})
	if err := s.Send(context.Background(), nil, sinks.Message{}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSendsReuseConnections: 24 goroutines sending through a
// sink of concurrency 8 hold at most 8 connections open and reuse them.
func TestConcurrentSendsReuseConnections(t *testing.T) {
	hook := testenv.NewReceiver(t)
	s, err := webhook.New("hook", webhook.Config{URL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.SetConcurrency(8)
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			for range 40 {
				if err := s.Send(t.Context(), nil, sinks.Message{Body: "{}"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Counted at the receiver, which may see a connection's close after
	// the transport has dialled its successor: one more than the cap is
	// that lag (without the cap, all 24 goroutines hold one each).
	if n := hook.MostOpen(); n > 8+1 {
		t.Errorf("960 sends from 24 goroutines had %d connections open at once, want at most 8", n)
	}
	if n := hook.Connections(); n > 16 {
		t.Errorf("960 sends from 24 goroutines opened %d connections, want the 8 reused", n)
	}
}
