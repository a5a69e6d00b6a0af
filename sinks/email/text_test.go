package email_test

import (
	"testing"

	"github.com/dletter/dletter/sinks/email"
)

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `plain`},
		{`<p>Hello <b>world</b>!</p>`, `Hello world!`},
		{`<p>a</p><p>b</p>`, "a\n\nb"},
		{`one<br>two<br/><br>three`, "one\ntwo\n\nthree"},
		{`<h1>Title</h1>text`, "Title\n\ntext"},
		{`<ul><li>x</li><li>y</li></ul>after`, "- x\n- y\n\nafter"},
		{`<ol><li>x</li><li>y</li></ol>`, "1. x\n2. y"},
		{`<ul><li>x<ul><li>nested</li></ul></li></ul>`, "- x\n  - nested"},
		{`see <a href="https://e.example/x">the docs</a> now`, `see the docs (https://e.example/x) now`},
		{`<a href="https://e.example/x">https://e.example/x</a>`, `https://e.example/x`},
		{`<a href="mailto:ops@example.com">ops@example.com</a>`, `ops@example.com`},
		{`<a href="#top">top</a>`, `top`},
		{`<a href="javascript:alert(1)">x</a>`, `x`},
		{`<img src="x.png" alt="chart"> ok`, `chart ok`},
		{`<style>p{color:red}</style><script>alert(1)</script><p>shown</p>`, `shown`},
		{`<html><head><title>T</title></head><body>b</body></html>`, `b`},
		{`a &amp; b &lt;c&gt; &eacute;`, `a & b <c> é`},
		{"<pre>  keep\n    this</pre>x", "  keep\n    this\n\nx"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a b\nc d"},
		{"  lots   of\n\n  space  ", "lots of space"},
		{`<p>unclosed <b>bold`, `unclosed bold`},
	} {
		if got := email.HTMLToText(tc.in); got != tc.want {
			t.Errorf("HTMLToText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
