package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
)

// scrape asks the handler for the metrics with the given Accept header.
func scrape(t *testing.T, h http.Handler, accept string) (contentType, body string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Header().Get("Content-Type"), string(b)
}

// A scraper that asks for OpenMetrics (as Prometheus does) gets it, ended
// by "# EOF"; one that does not gets the classic text format.
func TestHandlerNegotiatesOpenMetrics(t *testing.T) {
	m := metrics.New(nil, nil)
	m.Delivery("mail", metrics.Delivered)
	h := m.Handler()

	ct, body := scrape(t, h, "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	if !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want application/openmetrics-text", ct)
	}
	if !strings.HasSuffix(body, "# EOF\n") {
		t.Fatalf("OpenMetrics body does not end with # EOF:\n%s", tail(body))
	}
	if !strings.Contains(body, `dletter_deliveries_total{outcome="delivered",sink="mail"} 1`) {
		t.Fatalf("delivery counter missing:\n%s", body)
	}

	ct, body = scrape(t, h, "")
	if !strings.HasPrefix(ct, "text/plain") || strings.Contains(body, "# EOF") {
		t.Fatalf("without an Accept header: Content-Type %q, body ends %q", ct, tail(body))
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

// TestOpenMetricsFamiliesAreUnique: in the OpenMetrics exposition no two
// families share a name (the Go collector's gauge go_memstats_alloc_bytes
// clashes with its counter go_memstats_alloc_bytes_total, which strict
// parsers refuse); the runtime's memory figures are all still there.
func TestOpenMetricsFamiliesAreUnique(t *testing.T) {
	_, body := scrape(t, metrics.New(nil, nil).Handler(), "application/openmetrics-text;version=1.0.0")
	seen := map[string]bool{}
	for line := range strings.Lines(body) {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		if seen[f[2]] {
			t.Errorf("two families named %s", f[2])
		}
		seen[f[2]] = true
	}
	for _, want := range []string{"go_memstats_alloc_bytes_total ", "go_memstats_heap_alloc_bytes ", "go_goroutines "} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("%s missing", strings.TrimSpace(want))
		}
	}
}
