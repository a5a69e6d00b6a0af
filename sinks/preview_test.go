package sinks_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/dletter/dletter/sinks"
)

var _ sinks.PreviewLister = (*sinks.FileDLQ)(nil)

func TestCutUTF8(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
		cut  bool
	}{
		{"hello", 10, "hello", false},
		{"hello", 5, "hello", false},
		{"hello", 3, "hel", true},
		{"hello", 0, "", true},
		{"hello", -1, "", true},
		{"", 0, "", false},
		{"aé", 2, "a", true},                  // é is 2 bytes: never half of it
		{"aéb", 3, "aé", true},                // the cut falls right after é
		{"a€", 2, "a", true},                  // € is 3 bytes
		{"a€", 3, "a", true},                  //
		{"a€b", 4, "a€", true},                //
		{"😀x", 1, "", true},                   // 😀 is 4 bytes
		{"😀x", 3, "", true},                   //
		{"😀x", 4, "😀", true},                  //
		{"x😀", 4, "x", true},                  //
		{"\xff\xfe\xfd", 2, "\xff\xfe", true}, // not UTF-8: cut where asked
		{"a\x80\x80\x80\x80", 3, "a\x80\x80", true},
		{"ab\xc3", 2, "ab", true}, // a sequence cut short by the end of s
		{"ab\xc3x", 3, "ab\xc3", true},
	} {
		got, cut := sinks.CutUTF8(c.s, c.n)
		if got != c.want || cut != c.cut {
			t.Errorf("CutUTF8(%q, %d) = %q, %v; want %q, %v", c.s, c.n, got, cut, c.want, c.cut)
		}
	}
}

// FuzzCutUTF8 checks the cut of any string at any length: a prefix of at
// most n bytes, shorter only by a sequence that would be split, and valid
// UTF-8 when the string is.
func FuzzCutUTF8(f *testing.F) {
	f.Add("aé€😀", 3)
	f.Add("\xff\xc3", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= len(s) + 8
		got, cut := sinks.CutUTF8(s, n)
		n = max(n, 0) // a negative n cuts at 0
		if !strings.HasPrefix(s, got) || cut != (len(got) < len(s)) {
			t.Fatalf("CutUTF8(%q, %d) = %q, %v", s, n, got, cut)
		}
		if cut && (len(got) > n || len(got) < n-(utf8.UTFMax-1)) {
			t.Fatalf("CutUTF8(%q, %d) = %q: %d bytes", s, n, got, len(got))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("CutUTF8(%q, %d) = %q: not UTF-8", s, n, got)
		}
		if cut && utf8.ValidString(s) {
			_, size := utf8.DecodeRuneInString(s[len(got):])
			if len(got)+size <= n {
				t.Fatalf("CutUTF8(%q, %d) = %q: the next rune would fit", s, n, got)
			}
		}
	})
}

func TestPreviewOf(t *testing.T) {
	full := strings.Repeat("ü", 1000)
	it := sinks.DLQItem{ID: "7", Sink: "s", Message: sinks.Message{Subject: "hi", Body: full},
		Recipient: json.RawMessage(`{"to":"a"}`)}
	p := sinks.PreviewOf(it, 1001)
	if len(p.Message.Body) != 1000 || !p.BodyTruncated || p.BodyBytes != 2000 || p.Message.Subject != "hi" {
		t.Fatalf("preview: %d bytes, truncated %v, BodyBytes %d", len(p.Message.Body), p.BodyTruncated, p.BodyBytes)
	}
	if unsafe.StringData(p.Message.Body) == unsafe.StringData(full) {
		t.Fatal("the preview's body shares the whole body's memory")
	}
	if it.Message.Body != full {
		t.Fatal("PreviewOf changed the item")
	}
	small := sinks.PreviewOf(sinks.DLQItem{Message: sinks.Message{Body: "tiny"}}, 1024)
	if small.BodyTruncated || small.BodyBytes != 4 || small.Message.Body != "tiny" {
		t.Fatalf("small body: %+v", small)
	}

	// A preview goes through JSON with its own fields and the item's.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"body_truncated":true`) || !strings.Contains(string(b), `"body_bytes":2000`) {
		t.Fatalf("JSON %s", b)
	}
	var back sinks.ItemPreview
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", back, p)
	}
}
