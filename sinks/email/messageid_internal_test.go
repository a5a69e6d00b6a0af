package email

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// checkMessageID fails the test unless id is a msg-id that net/mail
// accepts as an addr-spec whose local part is a dot-atom: it rejects
// leading, trailing and repeated dots.
func checkMessageID(t *testing.T, id string) {
	t.Helper()
	a, err := mail.ParseAddress("<" + id + ">")
	if err != nil || a.Address != id || a.Name != "" {
		t.Fatalf("Message-ID <%s> does not parse as a dot-atom msg-id: %v, %+v", id, err, a)
	}
}

// decodeIDLocal reads back what encodeIDLocal wrote, false when local is
// not in its form (a digest or random local part, or a stray '=').
func decodeIDLocal(local string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c != '=' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(local) || !isUpperHex(local[i+1]) || !isUpperHex(local[i+2]) {
			return "", false
		}
		b.WriteByte(unhex(local[i+1])<<4 | unhex(local[i+2]))
		i += 2
	}
	return b.String(), true
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

func TestMessageIDIsDotAtom(t *testing.T) {
	long := strings.Repeat("x", maxIDLocal)
	for _, tc := range []struct{ id, want string }{
		{"order..42.", "dletter.order=2E=2E42=2E@dletter.test"},
		{".lead", "dletter.=2Elead@dletter.test"},
		{"a.b", "dletter.a.b@dletter.test"},
		{"9f1c4e1a-3b2d-4c6e-8f00-1a2b3c4d5e6f", "dletter.9f1c4e1a-3b2d-4c6e-8f00-1a2b3c4d5e6f@dletter.test"},
		{"order_42", "dletter.order_42@dletter.test"},
		{"a.", "dletter.a=2E@dletter.test"},
		{"a=2E", "dletter.a=3D2E@dletter.test"}, // not "a.": '=' is escaped too
		{"a/b c", "dletter.a=2Fb=20c@dletter.test"},
		{"é", "dletter.=C3=A9@dletter.test"},
		{"<x@y>", "dletter.=3Cx=40y=3E@dletter.test"},
		{long, "dletter." + long + "@dletter.test"},
	} {
		got := messageID(tc.id, "dletter.test")
		if got != tc.want {
			t.Errorf("messageID(%q) = %q, want %q", tc.id, got, tc.want)
		}
		checkMessageID(t, got)
	}
	// Over maxIDLocal bytes encoded: a digest, still stable and distinct.
	a, b := messageID(long+"y", "dletter.test"), messageID(long+"z", "dletter.test")
	if !strings.HasPrefix(a, "dletter.=H") || a == b || a != messageID(long+"y", "dletter.test") {
		t.Errorf("long ids: %q, %q", a, b)
	}
	checkMessageID(t, a)
	// A domain that is not a dot-atom is replaced.
	for _, d := range []string{"", "a..b", ".x", "x.", "ex ample.com", "bücher.example"} {
		if got := messageID("id", d); got != "dletter.id@dletter.invalid" {
			t.Errorf("domain %q: %q", d, got)
		}
	}
	r1, r2 := messageID("", "dletter.test"), messageID("", "dletter.test")
	if r1 == r2 || !strings.HasPrefix(r1, "dletter.=R") {
		t.Errorf("without a delivery id: %q, %q", r1, r2)
	}
	checkMessageID(t, r1)
}

// FuzzMessageID: for any delivery id the Message-ID header of the message
// built parses back with net/mail as a dot-atom msg-id; it is the same for
// the same id, and its local part reads back to the id (so two ids never
// share one) unless it is the digest of an id too long to spell out.
func FuzzMessageID(f *testing.F) {
	for _, id := range []string{"order..42.", "9f1c4e1a-3b2d-4c6e-8f00-1a2b3c4d5e6f", "a=2E", "=H00", ".", "..", "a b\r\nBcc: x@y", "é", strings.Repeat(".", 200)} {
		f.Add(id)
	}
	s, err := New("fuzz", Config{Addr: "127.0.0.1:25", From: "Alerts <alerts@dletter.test>", TLS: TLSNone})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, id string) {
		msg, err := s.buildMessage(Recipient{To: []string{"ops@dletter.test"}}, nil, sinks.Message{Subject: "x"}, id, now)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		parsed, err := mail.ReadMessage(&buf)
		if err != nil {
			t.Fatalf("message does not parse: %v", err)
		}
		header := parsed.Header.Get("Message-Id")
		if id == "" { // random
			checkMessageID(t, strings.Trim(header, "<>"))
			return
		}
		want := messageID(id, "dletter.test")
		if header != "<"+want+">" {
			t.Fatalf("Message-ID header %q, want <%s>", header, want)
		}
		checkMessageID(t, want)
		if again := messageID(id, "dletter.test"); again != want {
			t.Fatalf("id %q gave %q, then %q", id, want, again)
		}
		local := strings.TrimSuffix(strings.TrimPrefix(want, "dletter."), "@dletter.test")
		if strings.HasPrefix(local, "=H") {
			if len(encodeIDLocal(id)) <= maxIDLocal {
				t.Fatalf("id %q digested although its encoding fits", id)
			}
			return
		}
		if back, ok := decodeIDLocal(local); !ok || back != id {
			t.Fatalf("id %q became %q, which reads back as %q", id, local, back)
		}
	})
}
