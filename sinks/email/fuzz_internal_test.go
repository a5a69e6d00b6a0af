package email

import (
	"bytes"
	"mime"
	"net/mail"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// FuzzBuildMessage checks that no subject, address or metadata can add a
// header: a message is either refused or parses back with exactly the
// headers the sink meant to write, carrying the values it was given.
func FuzzBuildMessage(f *testing.F) {
	f.Add("Disk füll", "Ops <ops@example.com>", "env", "prod", "<p>hi</p>")
	f.Add("hi\r\nBcc: x@example.com", "ops@example.com", "k", "v", "")
	f.Add("=?UTF-8?q?already_encoded?=", "\"a\\\"b\" <c@example.com>", "X-Trace", "a\nb", "plain\n.\nline")
	f.Add(strings.Repeat("long subject ", 20), "ops@example.com", "team", strings.Repeat("é", 100), "")
	s, err := New("fuzz", Config{Addr: "127.0.0.1:25", From: "Alerts <alerts@example.com>", TLS: TLSNone})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, subject, to, key, value, body string) {
		m := sinks.Message{Subject: subject, Body: body}
		if key != "" {
			m.Metadata = map[string]string{key: value}
		}
		msg, err := s.buildMessage(Recipient{To: []string{to}}, nil, m, "id", now)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		parsed, err := mail.ReadMessage(&buf)
		if err != nil {
			t.Fatalf("message does not parse: %v\n%s", err, buf.String())
		}
		want := []string{"Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if key != "" {
			name, _ := metadataHeader(key)
			want = append(want, name)
		}
		sort.Strings(want)
		var got []string
		for k := range parsed.Header {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("headers %q, want %q\n%s", got, want, buf.String())
		}
		var dec mime.WordDecoder
		check := func(name, orig string) {
			v, err := dec.DecodeHeader(parsed.Header.Get(name))
			if err != nil {
				t.Fatalf("%s does not decode: %v", name, err)
			}
			if strings.Join(strings.Fields(v), " ") != strings.Join(strings.Fields(orig), " ") {
				t.Fatalf("%s %q came back as %q", name, orig, v)
			}
		}
		if isPrintable(subject) {
			check("Subject", subject)
		}
		if key != "" && isPrintable(value) {
			name, _ := metadataHeader(key)
			check(name, value)
		}
		addrs, err := parsed.Header.AddressList("To")
		want0, _ := mail.ParseAddress(to)
		if err != nil || len(addrs) != 1 || addrs[0].Address != want0.Address {
			t.Fatalf("To %q came back as %v, %v", to, addrs, err)
		}
	})
}

// isPrintable reports whether s is valid UTF-8 without control characters
// and without "=?" (ASCII that looks like an RFC 2047 encoded word is sent
// as is, and a reader decodes it), the text whose exact round trip through
// a header is checked.
func isPrintable(s string) bool {
	if strings.Contains(s, "=?") {
		return false
	}
	for _, r := range s {
		if r == '\uFFFD' || r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// FuzzRecipientPolicy: an address that a policy allowing only example.com
// lets through is in example.com, in any case, with a trailing dot, or
// in a Unicode form that IDNA maps to it; the canonical form of a domain
// is its own canonical form.
func FuzzRecipientPolicy(f *testing.F) {
	for _, s := range []string{"ops@example.com", "ops@EXAMPLE.com.", "\"x@evil.example\"@example.com", "ops@ｅｘａｍｐｌｅ.com",
		"ops@xn--bcher-kva.example", "ops@[127.0.0.1]", "ops@example.com.evil.example", "Ops <ops@exa\u200bmple.com>"} {
		f.Add(s)
	}
	p := recipientPolicy{domains: map[string]bool{"example.com": true}}
	f.Fuzz(func(t *testing.T, addr string) {
		a, err := mail.ParseAddress(addr)
		if err != nil {
			return
		}
		_, raw := splitAddress(a)
		d, derr := canonicalDomain(raw)
		if derr == nil {
			if again, err := canonicalDomain(d); err != nil || again != d {
				t.Fatalf("canonical %q of %q becomes %q, %v", d, raw, again, err)
			}
		}
		if p.check([]*mail.Address{a}) != nil {
			return
		}
		if d != "example.com" {
			t.Fatalf("%q allowed with domain %q (canonical %q)", addr, raw, d)
		}
		if isASCII(raw) && !strings.EqualFold(strings.TrimSuffix(raw, "."), "example.com") {
			t.Fatalf("%q allowed: ASCII domain %q is not example.com", addr, raw)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
