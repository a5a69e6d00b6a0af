package httpsink

import (
	"net/url"
	"strings"
	"testing"
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
		{"ééé", 5, "éé"},
		{strings.Repeat("x", 300), 256, strings.Repeat("x", 256)},
	} {
		if got := Sanitize(tc.in, tc.limit); got != tc.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}
