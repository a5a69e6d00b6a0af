package slack

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/dletter/dletter/sinks"
)

// Limits of Slack's Block Kit.
const (
	maxSectionText  = 3000
	maxBlocks       = 50
	maxContextItems = 10
)

// payload is the JSON an incoming webhook takes.
type payload struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks,omitempty"`
}

type block struct {
	Type     string  `json:"type"`
	Text     *text   `json:"text,omitempty"`
	Elements []*text `json:"elements,omitempty"`
}

type text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape escapes the three characters Slack's mrkdwn gives meaning to in
// messages: &, < and >. Escaped text cannot mention <!channel>, a user or a
// group, nor show a link whose label hides its target.
func Escape(s string) string { return escaper.Replace(s) }

// messageText is the text of m: the Subject in bold on the first line, then
// the Body.
func messageText(m sinks.Message) string {
	var b strings.Builder
	if s := strings.TrimSpace(m.Subject); s != "" {
		b.WriteString("*")
		b.WriteString(Escape(s))
		b.WriteString("*")
	}
	if m.Body != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(Escape(m.Body))
	}
	return b.String()
}

// encodePayload returns the request body for m.
func encodePayload(m sinks.Message) ([]byte, error) {
	p := payload{Text: messageText(m)}
	if len(m.Metadata) > 0 {
		p.Blocks = metadataBlocks(p.Text, m.Metadata)
	}
	return json.Marshal(p)
}

// metadataBlocks lays the text out in sections (split to Slack's size
// limit) followed by a context block listing the metadata.
func metadataBlocks(txt string, md map[string]string) []block {
	var blocks []block
	for _, chunk := range splitRunes(txt, maxSectionText) {
		if len(blocks) == maxBlocks-1 {
			break
		}
		blocks = append(blocks, block{Type: "section", Text: &text{Type: "mrkdwn", Text: chunk}})
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var items []*text
	for i, k := range keys {
		item := "*" + Escape(k) + ":* " + Escape(md[k])
		if i >= maxContextItems {
			// Slack allows ten elements: the last one takes the rest.
			last := items[maxContextItems-1]
			last.Text = truncateRunes(last.Text+"  "+item, maxSectionText)
			continue
		}
		items = append(items, &text{Type: "mrkdwn", Text: truncateRunes(item, maxSectionText)})
	}
	return append(blocks, block{Type: "context", Elements: items})
}

// splitRunes cuts s into pieces of at most n characters.
func splitRunes(s string, n int) []string {
	var out []string
	for s != "" {
		cut := len(s)
		if utf8.RuneCountInString(s) > n {
			cut = byteOffset(s, n)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return s[:byteOffset(s, n-1)] + "…"
}

// byteOffset returns the byte offset of the n-th rune of s.
func byteOffset(s string, n int) int {
	i := 0
	for off := range s {
		if i == n {
			return off
		}
		i++
	}
	return len(s)
}
