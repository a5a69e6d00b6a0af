// Package display makes text that a message's sender controls (subject,
// body, metadata, the far end's error text) safe to show to an operator, on
// a terminal or in the console.
package display

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Visible returns s with every control character but newline and tab (ESC,
// a carriage return that would overwrite a line, the C1 controls such as
// CSI) and every bidirectional formatting character (which can reorder what
// the operator reads) replaced by an escape: \x1b, \r, \u009b, \u202e.
// Everything else is kept as it is.
func Visible(s string) string {
	if strings.IndexFunc(s, hidden) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !hidden(r):
			b.WriteRune(r)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func hidden(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// Count says how many of a thing there are, the noun agreeing with the
// number: Count(1, "item", "items") is "1 item", Count(3, ...) "3 items".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
