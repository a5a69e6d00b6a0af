package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/sinks"
)

// echoReceiver answers every request with status and a body that repeats
// the request's Authorization header and URI, as some receivers do.
func echoReceiver(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprintf(w, "refused: Authorization: %s; uri %s", r.Header.Get("Authorization"), r.URL.RequestURI())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// serveForTest runs the daemon on a loopback listener until the test ends,
// and returns its base URL.
func serveForTest(t *testing.T, cfg *config.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, ServeOptions{Listener: ln}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// apiCall calls the daemon and returns the status and the raw answer.
func apiCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// A receiver that echoes the request puts the expanded header and URL
// query into its answer; the daemon's DLQ items (LastError and History)
// and every API answer show neither, whether the failure is terminal (400)
// or retried (500).
func TestDeadLetteredErrorsHideExpandedSecrets(t *testing.T) {
	const (
		token      = "SuperSecretTok123"
		queryToken = "QueryTok456789"
	)
	t.Setenv("DLETTER_TEST_HOOK_TOKEN", token)
	t.Setenv("DLETTER_TEST_QUERY_TOKEN", queryToken)
	e400, e500 := echoReceiver(t, http.StatusBadRequest), echoReceiver(t, http.StatusInternalServerError)
	doc := fmt.Sprintf(`
data_dir: %s
sinks:
  terminal:
    kind: webhook
    url: %s/hook?token=${DLETTER_TEST_QUERY_TOKEN}
    headers:
      Authorization: Bearer ${DLETTER_TEST_HOOK_TOKEN}
  retried:
    kind: webhook
    url: %s/hook?token=${DLETTER_TEST_QUERY_TOKEN}
    headers:
      Authorization: Bearer ${DLETTER_TEST_HOOK_TOKEN}
retry:
  max_attempts: 3
  base_backoff: 1ms
  max_backoff: 2ms
`, filepath.Join(t.TempDir(), "data"), e400.URL, e500.URL)
	cfg, err := config.Parse([]byte(doc), "dletter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := serveForTest(t, cfg)

	for sink, attempts := range map[string]int{"terminal": 1, "retried": 3} {
		code, answer := apiCall(t, "POST", base+"/v1/sinks/"+sink+"/messages", `{"subject":"s","body":"{}"}`)
		if code != http.StatusAccepted || !strings.Contains(answer, "dead_lettered") {
			t.Fatalf("%s: send: %d %s", sink, code, answer)
		}
		code, answer = apiCall(t, "GET", base+"/v1/dlq/items?sink="+sink, "")
		var page struct{ Items []sinks.DLQItem }
		if err := json.Unmarshal([]byte(answer), &page); err != nil || code != http.StatusOK || len(page.Items) != 1 {
			t.Fatalf("%s: items: %d %s %v", sink, code, answer, err)
		}
		it := page.Items[0]
		if len(it.History) != attempts {
			t.Fatalf("%s: %d attempts in history, want %d: %+v", sink, len(it.History), attempts, it)
		}
		texts := []string{answer, it.LastError}
		for _, a := range it.History {
			texts = append(texts, a.Error)
		}
		_, one := apiCall(t, "GET", base+"/v1/dlq/items/"+it.ID, "")
		texts = append(texts, one)
		for _, text := range texts {
			for _, secret := range []string{token, queryToken} {
				if strings.Contains(text, secret) {
					t.Errorf("%s: %q shows up in %s", sink, secret, text)
				}
			}
		}
		// The receiver did echo, and the echo was scrubbed, not lost.
		if !strings.Contains(it.LastError, "refused: Authorization: [redacted]") {
			t.Errorf("%s: last error %q", sink, it.LastError)
		}
	}
}
