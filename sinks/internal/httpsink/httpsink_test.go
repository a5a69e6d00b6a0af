package httpsink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pa55@h.example.com/p/q?token=abc&x=1#frag": "https://h.example.com",
		"https://h.example.com/hooks/T0/B0/s3cr3t":               "https://h.example.com",
		"http://h:8080/?abc":                                     "http://h:8080",
		"http://user@h/":                                         "http://h",
		"http://[::1]:9/x":                                       "http://[::1]:9",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Redact(u); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"  invalid_payload\n", 256, "invalid_payload"},
		{"a\r\nb\x00c\td", 256, "a b c d"},
		{"bad\xffutf8", 256, "bad utf8"},
		{"ééé", 5, ""},
		{"é é é", 6, "é é"},
		{strings.Repeat("x", 300), 256, ""},
		{"echo: Bearer SuperSecretTok123", 25, "echo: Bearer"},
		{"echo: Bearer SuperSecretTok123 and more", 31, "echo: Bearer SuperSecretTok123"},
		{"echo: Bearer SuperSecretTok123", 30, "echo: Bearer SuperSecretTok123"},
	} {
		if got := Sanitize(tc.in, tc.limit); got != tc.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

// A response body cut at DetailLimit keeps no part of the word the cut
// falls in: an echoed token never shows even in part.
func TestDetailDropsTheCutWord(t *testing.T) {
	token := strings.Repeat("T0k", 20)
	body := strings.Repeat("x ", (DetailLimit-10)/2) + "Bearer " + token
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	err := Post(context.Background(), NewClient(time.Second, nil), Request{URL: u, Target: Redact(u)})
	var se *sinks.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Fatalf("Post: %v", err)
	}
	if strings.Contains(se.Detail, "T0k") || !strings.HasSuffix(se.Detail, "Bearer") || len(se.Detail) > DetailLimit {
		t.Fatalf("detail %q", se.Detail)
	}
}
