package fielderr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Withheld is what a Message says in place of a secret value.
const Withheld = "value not shown: it is secret or came from the environment or a file"

// Message is one mistake about a value: where it is, which key or field,
// the value, and what is wrong. The zero value of each part leaves it out.
type Message struct {
	Prefix string // the reporting package, such as "sinks" or "config"
	File   string // the file the value was read from
	Line   int    // 1-based line in File; 0 when unknown
	Scope  string // what the key belongs to, such as `sink "alerts" (webhook)`
	Noun   string // "key" or "field"; "key" when empty
	Path   string // the key or field path, such as "dlq.backend" or "since"
	Value  any    // the offending value; nil when missing
	// Secret withholds Value: the message says so instead (even when
	// Value is nil, since whoever hides a value also drops it).
	Secret bool
	Reason string // what is wrong, such as "must not be negative"
}

// String renders m as `prefix: file:line: scope: key "path": reason (got value)`.
func (m Message) String() string {
	var b strings.Builder
	part := func(s string) {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if m.Prefix != "" {
		part(m.Prefix)
	}
	if m.File != "" {
		if m.Line > 0 {
			part(m.File + ":" + strconv.Itoa(m.Line))
		} else {
			part(m.File)
		}
	}
	if m.Scope != "" {
		part(m.Scope)
	}
	if m.Path != "" {
		noun := m.Noun
		if noun == "" {
			noun = "key"
		}
		part(noun + " " + strconv.Quote(m.Path))
	}
	b.WriteString(m.Reason)
	switch {
	case m.Secret:
		b.WriteString(" (" + Withheld + ")")
	case m.Value != nil:
		b.WriteString(" (got " + Quote(m.Value) + ")")
	}
	return b.String()
}

// Quote renders a value for a message: a string (or what a fmt.Stringer
// such as a duration says) in Go's quotes, anything else as JSON, or as Go
// prints it when it has no JSON form.
func Quote(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case fmt.Stringer:
		return strconv.Quote(v.String())
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return escapeInvisible(strings.TrimSuffix(buf.String(), "\n"))
}

// escapeInvisible rewrites the runes of JSON text that a terminal would not
// show as themselves (DEL, and every rune strconv.IsPrint rejects, such as
// the bidirectional override U+202E) as \u escapes, which JSON reads back
// as the same runes. JSON itself escapes only the ASCII controls.
func escapeInvisible(s string) string {
	clean := func(r rune) bool {
		return r != utf8.RuneError && (r < utf8.RuneSelf && r != 0x7f || r >= utf8.RuneSelf && strconv.IsPrint(r))
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return !clean(r) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case clean(r):
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}
