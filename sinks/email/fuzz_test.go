package email_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dletter/dletter/sinks/email"
	"github.com/dletter/dletter/sinks/sinktest"
)

func FuzzDecodeRecipient(f *testing.F) {
	for _, s := range []string{``, `null`, `{"to":["a@example.com"],"cc":["b@example.com"],"bcc":["c@example.com"]}`,
		`{"to":"a@example.com"}`, `"a@example.com"`, `["a","b"]`, `{"to":[null]}`, `{"TO":[]}`} {
		f.Add([]byte(s))
	}
	sinktest.FuzzDecodeRecipient(f, newSink(f, email.Config{Addr: "127.0.0.1:25", TLS: email.TLSNone}))
}

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{`<p>a <b>b</b></p>`, `<ul><li>x<ol><li>y</ol>`, `<a href="u">t</a>`, `<pre> x </pre>`,
		`<script>x</script></script>`, `</a></a><br/>`, `&amp;&#x41;&bogus;`, `<img alt="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := email.HTMLToText(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("valid input gave invalid UTF-8 %q", out)
		}
		keepsSpace := strings.Contains(strings.ToLower(in), "<pre") // <pre> keeps its line breaks
		if strings.HasPrefix(out, "\n") || strings.HasSuffix(out, "\n") || !keepsSpace && strings.Contains(out, "\n\n\n") {
			t.Fatalf("untidy line breaks in %q", out)
		}
		// Text without markup or entities comes out as its words.
		if !strings.ContainsAny(in, "<&") {
			if got, want := strings.Fields(out), strings.Fields(in); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("plain %q became %q", in, out)
			}
		}
	})
}
