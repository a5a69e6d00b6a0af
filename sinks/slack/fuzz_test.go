package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/slack"
)

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// FuzzPayload checks that any message becomes valid JSON whose text holds
// no raw angle bracket, gives back the message once unescaped, and keeps
// within Slack's block limits.
func FuzzPayload(f *testing.F) {
	f.Add("subject", "body", "k", "v")
	f.Add("<!channel>", "<https://x|y> &amp;", "<k>", "&")
	f.Add("", strings.Repeat("ü", 3001), "", "")
	f.Fuzz(func(t *testing.T, subject, body, key, value string) {
		for _, s := range []string{subject, body, key, value} {
			if !utf8.ValidString(s) {
				t.Skip("JSON replaces invalid UTF-8; covered by encoding/json")
			}
		}
		c := &httpsinktest.Capture{}
		s, err := slack.New("ops", slack.Config{WebhookURL: "https://hooks.slack.com/services/x", Transport: c})
		if err != nil {
			t.Fatal(err)
		}
		m := sinks.Message{Subject: subject, Body: body}
		if key != "" {
			m.Metadata = map[string]string{key: value}
		}
		err = s.Send(context.Background(), nil, m)
		if strings.TrimSpace(subject) == "" && body == "" {
			if err == nil {
				t.Fatal("empty message accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Text   string
			Blocks []struct {
				Text     *struct{ Text string }
				Elements []struct{ Text string }
			}
		}
		if err := json.Unmarshal(c.Body, &p); err != nil {
			t.Fatalf("payload %q: %v", c.Body, err)
		}
		if strings.ContainsAny(p.Text, "<>") {
			t.Fatalf("raw angle bracket in %q", p.Text)
		}
		if !strings.Contains(unescaper.Replace(p.Text), body) {
			t.Fatalf("text %q lost the body %q", p.Text, body)
		}
		if len(p.Blocks) > 50 {
			t.Fatalf("%d blocks", len(p.Blocks))
		}
		var sections bytes.Buffer
		for _, b := range p.Blocks {
			if b.Text != nil {
				if utf8.RuneCountInString(b.Text.Text) > 3000 {
					t.Fatal("section over 3000 characters")
				}
				sections.WriteString(b.Text.Text)
			}
			for _, e := range b.Elements {
				if strings.ContainsAny(e.Text, "<>") {
					t.Fatalf("raw angle bracket in %q", e.Text)
				}
			}
		}
		if len(p.Blocks) > 0 && sections.String() != p.Text {
			t.Fatal("sections differ from the text")
		}
	})
}
