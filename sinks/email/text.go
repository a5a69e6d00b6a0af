package email

import (
	"html"
	"strconv"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// bodyParts returns the plain-text and HTML parts for body. A body with an
// HTML tag is HTML and its text is derived with HTMLToText; a body with
// none is plain text, and its HTML is the escaped text with line breaks.
func bodyParts(body string) (text, htmlPart string) {
	if !hasTag(body) {
		return body, "<!DOCTYPE html>\n<html><body>" +
			strings.ReplaceAll(html.EscapeString(body), "\n", "<br>\n") +
			"</body></html>"
	}
	return HTMLToText(body), body
}

// hasTag reports whether s holds an HTML element, comment or doctype.
func hasTag(s string) bool {
	z := nethtml.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return false
		case nethtml.StartTagToken, nethtml.EndTagToken, nethtml.SelfClosingTagToken,
			nethtml.CommentToken, nethtml.DoctypeToken:
			return true
		}
	}
}

// HTMLToText renders an HTML fragment or document as plain text for the
// text/plain part of a message: block elements and <br> break lines, list
// items start with "- ", a link's target follows its text in parentheses,
// images give their alt text, <pre> keeps its spacing, script, style and
// head are left out, and entities are decoded.
func HTMLToText(s string) string {
	t := textWriter{}
	z := nethtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			return t.String()
		case nethtml.TextToken:
			if t.skip == 0 {
				t.text(string(z.Text()))
			}
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			var attrs map[string]string
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if attrs == nil {
					attrs = make(map[string]string)
				}
				attrs[string(k)] = string(v)
			}
			t.start(atom.Lookup(name), attrs, tt == nethtml.SelfClosingTagToken)
		case nethtml.EndTagToken:
			name, _ := z.TagName()
			t.end(atom.Lookup(name))
		}
	}
}

// textWriter accumulates the text of HTMLToText.
type textWriter struct {
	b     strings.Builder
	skip  int      // depth inside elements whose text is not shown
	pre   int      // depth inside <pre>
	links []link   // open <a> elements
	space bool     // a space is pending before the next word
	nl    int      // newlines pending before the next word
	lists []string // open lists, "ul" or "ol", with their counters below
	count []int
}

type link struct {
	href  string
	start int
}

func (t *textWriter) String() string {
	// Only <pre> writes leading spaces, which are kept.
	return strings.TrimRight(strings.TrimLeft(t.b.String(), "\n"), " \t\n")
}

// text writes character data, collapsing white space outside <pre>.
func (t *textWriter) text(s string) {
	if t.pre > 0 {
		t.flush()
		t.b.WriteString(s)
		return
	}
	if s != "" && isSpace(s[0]) {
		t.space = true
	}
	for i, word := range strings.Fields(s) {
		if i > 0 {
			t.space = true
		}
		t.flushWord()
		t.b.WriteString(word)
		t.space = false
	}
	if s != "" && isSpace(s[len(s)-1]) {
		t.space = true
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// flushWord writes what must come before a word: pending newlines or a
// space.
func (t *textWriter) flushWord() {
	if t.nl > 0 {
		t.flush()
		return
	}
	if t.space && t.b.Len() > 0 {
		t.b.WriteByte(' ')
	}
	t.space = false
}

func (t *textWriter) flush() {
	if t.b.Len() > 0 {
		t.b.WriteString(strings.Repeat("\n", t.nl))
	}
	t.nl, t.space = 0, false
}

// breakLine asks for at least n newlines before the next word.
func (t *textWriter) breakLine(n int) {
	if n > t.nl {
		t.nl = n
	}
}

func (t *textWriter) start(a atom.Atom, attrs map[string]string, selfClosing bool) {
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
		if !selfClosing {
			t.skip++
		}
	case atom.Br:
		// Each <br> ends a line; two in a row leave an empty one.
		if t.b.Len() > 0 {
			t.nl = min(t.nl+1, 2)
		}
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Table, atom.Blockquote, atom.Section, atom.Article, atom.Header,
		atom.Footer, atom.Hr, atom.Dl:
		t.breakLine(2)
	case atom.Tr, atom.Dt, atom.Dd:
		t.breakLine(1)
	case atom.Td, atom.Th:
		t.space = true
	case atom.Ul, atom.Ol:
		t.lists = append(t.lists, a.String())
		t.count = append(t.count, 0)
		t.breakLine(1)
	case atom.Li:
		t.breakLine(1)
		t.flush()
		t.b.WriteString(strings.Repeat("  ", max(len(t.lists)-1, 0)))
		if n := len(t.lists); n > 0 && t.lists[n-1] == "ol" {
			t.count[n-1]++
			t.b.WriteString(strconv.Itoa(t.count[n-1]) + ". ")
		} else {
			t.b.WriteString("- ")
		}
	case atom.Pre:
		t.breakLine(2)
		t.flush()
		t.pre++
	case atom.A:
		if !selfClosing {
			t.links = append(t.links, link{href: attrs["href"], start: t.b.Len()})
		}
	case atom.Img:
		if alt := strings.TrimSpace(attrs["alt"]); alt != "" && t.skip == 0 {
			t.text(" " + alt + " ")
		}
	}
}

func (t *textWriter) end(a atom.Atom) {
	switch a {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
		if t.skip > 0 {
			t.skip--
		}
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Table, atom.Blockquote, atom.Section, atom.Article, atom.Header,
		atom.Footer, atom.Dl:
		t.breakLine(2)
	case atom.Tr, atom.Li, atom.Dt, atom.Dd:
		t.breakLine(1)
	case atom.Ul, atom.Ol:
		if n := len(t.lists); n > 0 {
			t.lists, t.count = t.lists[:n-1], t.count[:n-1]
		}
		t.breakLine(2)
	case atom.Pre:
		if t.pre > 0 {
			t.pre--
		}
		t.breakLine(2)
	case atom.A:
		n := len(t.links)
		if n == 0 {
			return
		}
		l := t.links[n-1]
		t.links = t.links[:n-1]
		href := strings.TrimSpace(l.href)
		if href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(strings.ToLower(href), "javascript:") {
			return
		}
		label := strings.TrimSpace(t.b.String()[l.start:])
		if label == href || "mailto:"+label == href {
			return
		}
		if label != "" {
			t.space = true
		}
		t.flushWord()
		t.b.WriteString("(" + href + ")")
	}
}
