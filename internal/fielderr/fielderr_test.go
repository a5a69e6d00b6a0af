package fielderr

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMessageString(t *testing.T) {
	for _, c := range []struct {
		m    Message
		want string
	}{
		{Message{Prefix: "config", File: "dletter.yaml", Line: 3, Path: "dlq.backend", Value: "mysql", Reason: "must be file, memory or redis"},
			`config: dletter.yaml:3: key "dlq.backend": must be file, memory or redis (got "mysql")`},
		{Message{Prefix: "config", File: "dletter.yaml", Path: "listen", Reason: "is wrong"},
			`config: dletter.yaml: key "listen": is wrong`},
		{Message{Prefix: "sinks", Scope: `sink "alerts" (webhook)`, Path: "timeout", Value: "abc", Reason: "wants a duration"},
			`sinks: sink "alerts" (webhook): key "timeout": wants a duration (got "abc")`},
		{Message{Noun: "field", Path: "since", Value: "yesterday", Reason: "wants a time"},
			`field "since": wants a time (got "yesterday")`},
		{Message{Prefix: "config", Reason: "not valid YAML"}, `config: not valid YAML`},
		{Message{Path: "max_attempts", Value: -1, Reason: "must be at least 1"}, `key "max_attempts": must be at least 1 (got -1)`},
		{Message{Path: "dlq.addrs", Value: []string{"a:1", "b"}, Reason: "x"}, `key "dlq.addrs": x (got ["a:1","b"])`},
		{Message{Path: "per_sink", Value: map[string]any{"a": 1}, Reason: "x"}, `key "per_sink": x (got {"a":1})`},
		{Message{Path: "cooldown", Value: -time.Second, Reason: "x"}, `key "cooldown": x (got "-1s")`},
		{Message{Path: "m", Value: map[any]any{1: 2}, Reason: "x"}, `key "m": x (got map[interface {}]interface {}{1:2})`},
		{Message{Path: "url", Value: "a<b>&c", Reason: "x"}, `key "url": x (got "a<b>&c")`},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.m, got, c.want)
		}
	}
}

// A secret value is never shown, whatever its type, and the message says
// that it was withheld.
func TestSecretWithheld(t *testing.T) {
	const secret = "hunter22"
	for _, v := range []any{secret, []string{secret}, map[string]string{"Authorization": secret}, nil} {
		m := Message{Prefix: "sinks", Path: "password", Value: v, Secret: true, Reason: "is wrong"}
		got := m.String()
		if strings.Contains(got, secret) || !strings.Contains(got, Withheld) || !strings.Contains(got, `key "password"`) {
			t.Errorf("%#v: %s", v, got)
		}
	}
}

// Control characters in a value or a path never reach the terminal raw.
func TestQuoteEscapes(t *testing.T) {
	m := Message{Noun: "field", Path: "q\x1b[2J", Value: "\x1b[31mred\u202e", Reason: "x"}
	got := m.String()
	if strings.ContainsAny(got, "\x1b\u202e") {
		t.Fatalf("raw control characters in %q", got)
	}
	if got := Quote([]any{"\x1b"}); strings.Contains(got, "\x1b") {
		t.Fatalf("raw escape in a list: %q", got)
	}
	// In a list or a map, what a terminal would not show as itself is
	// escaped too, and the JSON still reads back as the same values.
	v := map[string]any{"k\u202e": []any{"a\u2066b\x7f", "\U000e0041 tag", "ok é"}}
	got = Quote(v)
	if strings.ContainsAny(got, "\u202e\u2066\x7f\U000e0041") {
		t.Fatalf("invisible runes left in %q", got)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(got), &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Fatalf("%s reads back as %#v (%v), want %#v", got, back, err, v)
	}
	if !strings.Contains(got, "ok é") {
		t.Fatalf("printable text escaped: %s", got)
	}
}
