package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dletter/dletter/cmd/dletter/internal/display"
)

var funcs = template.FuncMap{
	"ago":      ago,
	"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"clock":    func(t time.Time) string { return t.UTC().Format("15:04:05 UTC") },
	"truncate": truncate,
	"pretty":   func(v any) string { return display.Visible(prettyJSON(v)) },
	"visible":  display.Visible,
	"percent":  percent,
	"query":    func(v url.Values) string { return v.Encode() },
	"inList":   inList,
	"count":    display.Count,
}

func inList(s string, list []string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

// ago says how long before now t was, in the largest sensible unit.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// truncate shortens s to n runes, marking the cut, after making hidden
// characters visible (see display.Visible).
func truncate(n int, s string) string {
	s = display.Visible(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// prettyJSON indents raw JSON; anything else is shown as it is.
func prettyJSON(v any) string {
	var raw []byte
	switch v := v.(type) {
	case nil:
		return ""
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}

func percent(done, total int) int {
	if total <= 0 {
		return 0
	}
	p := done * 100 / total
	if p > 100 {
		p = 100
	}
	return p
}
