package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/httpsink/httpsinktest"
	"github.com/dletter/dletter/sinks/sinktest"
	"github.com/dletter/dletter/sinks/webhook"
)

func FuzzDecodeRecipient(f *testing.F) {
	for _, s := range []string{``, `null`, `{"url":"https://h/x"}`, `"https://h"`, `{"url":null}`, `[]`, `{"url":"\u0000"}`} {
		f.Add([]byte(s))
	}
	sinktest.FuzzDecodeRecipient(f, newSink(f, webhook.Config{URL: "http://127.0.0.1/"}))
}

func FuzzParseSecrets(f *testing.F) {
	f.Add(vectorSecret)
	f.Add(vectorSecret + " whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=")
	f.Add("whsec_")
	f.Add("whsec_====")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := webhook.ParseSecrets(s)
		if err != nil {
			if strings.Contains(err.Error(), s) && len(s) > 8 {
				t.Fatalf("error shows the input: %v", err)
			}
			return
		}
		sig := webhook.Sign(keys, "msg_1", time.Unix(1, 0), []byte("{}"))
		if n := len(strings.Fields(sig)); n != len(keys) {
			t.Fatalf("%d keys gave %d signatures", len(keys), n)
		}
		for _, secret := range strings.Fields(s) {
			if err := verify(secret, "msg_1", "1", sig, []byte("{}")); err != nil {
				t.Fatalf("secret %q: %v", secret, err)
			}
		}
	})
}

// FuzzPayload checks that any message becomes a valid JSON payload that
// gives back its subject, metadata and body.
func FuzzPayload(f *testing.F) {
	f.Add("subject", `{"a":1}`, "k", "v", "id-1")
	f.Add("", "plain text", "", "", "")
	f.Add("\xff\xfe", "\"quoted\"", "k\n", "v\x00", "a.b")
	f.Fuzz(func(t *testing.T, subject, body, key, value, id string) {
		c := &httpsinktest.Capture{Status: 204}
		s, err := webhook.New("hooks", webhook.Config{URL: "http://127.0.0.1/", Transport: c})
		if err != nil {
			t.Fatal(err)
		}
		m := sinks.Message{Subject: subject, Body: body}
		if key != "" {
			m.Metadata = map[string]string{key: value}
		}
		if err := s.Send(sinks.WithDeliveryID(context.Background(), id), nil, m); err != nil {
			t.Fatal(err)
		}
		var env webhook.Payload
		if err := json.Unmarshal(c.Body, &env); err != nil {
			t.Fatalf("payload %q is not JSON: %v", c.Body, err)
		}
		if viaJSON(subject) != env.Subject {
			t.Fatalf("subject %q came back as %q", subject, env.Subject)
		}
		if body == "" {
			if env.Body != nil {
				t.Fatalf("empty body came back as %s", env.Body)
			}
			return
		}
		if json.Valid([]byte(body)) {
			var want bytes.Buffer
			_ = json.Compact(&want, []byte(body))
			if !bytes.Equal(want.Bytes(), env.Body) {
				t.Fatalf("JSON body %q came back as %s", body, env.Body)
			}
			return
		}
		var got string
		if err := json.Unmarshal(env.Body, &got); err != nil || got != viaJSON(body) {
			t.Fatalf("text body %q came back as %s", body, env.Body)
		}
	})
}

// viaJSON is s as a JSON string decodes: invalid UTF-8 bytes become U+FFFD.
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
