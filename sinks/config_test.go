package sinks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	URL     string            `json:"url"`
	Timeout Duration          `json:"timeout"`
	Retries int               `json:"retries"`
	Headers map[string]string `json:"headers"`
	Tags    []string          `json:"tags"`
	APIKey  string            `json:"api_key"`
	Nested  struct {
		Port int `json:"port"`
	} `json:"nested"`
}

func decodeErr(t *testing.T, raw map[string]any) *ConfigError {
	t.Helper()
	var c testConfig
	err := DecodeConfig("webhook", "alerts", raw, &c)
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("DecodeConfig(%v) = %v: want a *ConfigError matching ErrInvalidConfig", raw, err)
	}
	if ce.Sink != "alerts" || ce.Kind != "webhook" {
		t.Fatalf("error does not name the sink: %+v", ce)
	}
	return ce
}

func TestDecodeConfig(t *testing.T) {
	t.Setenv("DLETTER_TEST_HOST", "example.test")
	var c testConfig
	raw := map[string]any{
		"kind":    "webhook",
		"url":     "https://${DLETTER_TEST_HOST}/hook?q=$${literal}",
		"timeout": "1m30s",
		"retries": 3,
		"headers": map[string]any{"X-Env": "${DLETTER_TEST_HOST}"},
		"tags":    []any{"a", "${DLETTER_TEST_HOST}"},
		"nested":  map[any]any{"port": 25}, // a YAML v2 mapping
	}
	if err := DecodeConfig("webhook", "alerts", raw, &c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://example.test/hook?q=${literal}" || time.Duration(c.Timeout) != 90*time.Second ||
		c.Retries != 3 || c.Headers["X-Env"] != "example.test" || c.Tags[1] != "example.test" || c.Nested.Port != 25 {
		t.Fatalf("decoded %+v", c)
	}
}

func TestDecodeConfigErrorsNameKeyAndValue(t *testing.T) {
	cases := []struct {
		name   string
		raw    map[string]any
		key    string
		value  any
		reason string
	}{
		{"unknown key", map[string]any{"urll": "x"}, "urll", nil, "unknown key"},
		{"wrong type", map[string]any{"retries": "three"}, "retries", "three", "wants a number"},
		{"duration without unit", map[string]any{"timeout": 5}, "timeout", 5, "with a unit"},
		{"bad duration", map[string]any{"timeout": "5 parsecs"}, "timeout", "5 parsecs", "wants a duration"},
		{"negative duration", map[string]any{"timeout": "-1s"}, "timeout", "-1s", "must not be negative"},
		{"unset env", map[string]any{"url": "${DLETTER_TEST_UNSET_VAR}"}, "url", nil, "DLETTER_TEST_UNSET_VAR is not set"},
		{"nested unknown key", map[string]any{"nested": map[string]any{"prot": 1}}, "nested.prot", nil, "unknown key (known keys: port)"},
		{"wrong type in list", map[string]any{"tags": []any{1}}, "tags[0]", 1, "wants a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := decodeErr(t, c.raw)
			if ce.Key != c.key {
				t.Errorf("key = %q, want %q (%v)", ce.Key, c.key, ce)
			}
			if c.value != nil && ce.Value != c.value {
				t.Errorf("value = %#v, want %#v", ce.Value, c.value)
			}
			if !strings.Contains(ce.Error(), c.reason) {
				t.Errorf("%q does not say %q", ce.Error(), c.reason)
			}
		})
	}
}

// An error about a value inside a map or a list names the full path to
// that value and shows it alone, not the map around it.
func TestDecodeConfigNamesTheNestedLeaf(t *testing.T) {
	type circuit struct {
		Failures *int      `json:"failures"`
		Cooldown *Duration `json:"cooldown"`
	}
	type nestedConfig struct {
		Delivery struct {
			Circuit *circuit `json:"circuit"`
		} `json:"delivery"`
		Labels map[string]string `json:"labels"`
		Ports  []int             `json:"ports"`
		Groups map[string][]int  `json:"groups"`
	}
	cases := []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"duration two maps down", map[string]any{"delivery": map[string]any{"circuit": map[string]any{"cooldown": "forever"}}},
			`key "delivery.circuit.cooldown": wants a duration such as 30s (got "forever")`},
		{"bad leaf beside a good one", map[string]any{"delivery": map[string]any{"circuit": map[string]any{"failures": "x", "cooldown": "10s"}}},
			`key "delivery.circuit.failures": wants a number (got "x")`},
		{"map of the wrong type", map[string]any{"delivery": map[string]any{"circuit": 5}},
			`key "delivery.circuit": wants a map (got 5)`},
		{"unknown key two maps down", map[string]any{"delivery": map[string]any{"circuit": map[string]any{"cooldwn": "1s"}}},
			`key "delivery.circuit.cooldwn": unknown key (known keys: cooldown, failures)`},
		{"field named in another case", map[string]any{"delivery": map[string]any{"Circuit": map[string]any{"Failures": true}}},
			`key "delivery.Circuit.Failures": wants a number (got true)`},
		{"map entry", map[string]any{"labels": map[string]any{"team": "ops", "X-Bad": []any{1, 2}}},
			`key "labels.X-Bad": wants a string (got [1,2])`},
		{"map entry whose key has a dot", map[string]any{"labels": map[string]any{"p.example": 7}},
			`key "labels[p.example]": wants a string (got 7)`},
		{"list entry", map[string]any{"ports": []any{80, "http"}},
			`key "ports[1]": wants a number (got "http")`},
		{"list in a map", map[string]any{"groups": map[string]any{"a": []any{1, map[string]any{"x": 1}}}},
			`key "groups.a[1]": wants a number (got {"x":1})`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var dst nestedConfig
			err := DecodeConfig("k", "n", c.raw, &dst)
			if err == nil || !strings.HasSuffix(err.Error(), c.want) {
				t.Fatalf("got %v\nwant ...%s", err, c.want)
			}
		})
	}
}

// A secret leaf is named by its full path and its value is still withheld.
func TestDecodeConfigNestedSecretLeaf(t *testing.T) {
	ce := decodeErr(t, map[string]any{"headers": map[string]any{"X-Ok": "fine", "X-Bad": []any{"hunter22", 2}}})
	if ce.Key != "headers.X-Bad" || ce.Value != nil || !ce.Secret {
		t.Fatalf("got %+v", *ce)
	}
	if msg := ce.Error(); strings.Contains(msg, "hunter22") || !strings.Contains(msg, "value not shown") {
		t.Fatalf("error shows the value or does not say it is hidden: %s", msg)
	}
}

func TestDecodeConfigRejectsBadDestination(t *testing.T) {
	var notStruct int
	if err := DecodeConfig("k", "n", nil, &notStruct); !errors.Is(err, ErrInternal) {
		t.Fatalf("got %v", err)
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DLETTER_TEST_TOKEN", "from-env")
	t.Setenv("DLETTER_TEST_EMPTY", "")

	for _, c := range []struct {
		inline, env, file string
		want              string
		errKey            string
	}{
		{"inline", "", "", "inline", ""},
		{"", "DLETTER_TEST_TOKEN", "", "from-env", ""},
		{"", "", file, "s3cret", ""},
		{"", "", "", "", ""},
		{"x", "DLETTER_TEST_TOKEN", "", "", "token"},
		{"", "DLETTER_TEST_UNSET_VAR", "", "", "token_env"},
		{"", "DLETTER_TEST_EMPTY", "", "", "token_env"},
		{"", "", filepath.Join(dir, "missing"), "", "token_file"},
		{"", "", empty, "", "token_file"},
	} {
		got, err := ResolveSecret("slack", "ops", "token", c.inline, c.env, c.file)
		if c.errKey == "" {
			if err != nil || got != c.want {
				t.Errorf("%+v: got %q, %v", c, got, err)
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != c.errKey || ce.Sink != "ops" {
			t.Errorf("%+v: got %v, want an error on key %s", c, err, c.errKey)
			continue
		}
		for _, secret := range []string{"s3cret", "from-env"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals the secret", err)
			}
		}
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	for in, want := range map[string]time.Duration{`"1m30s"`: 90 * time.Second, `0`: 0, `"0"`: 0, `"250ms"`: 250 * time.Millisecond} {
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("%s: got %v, %v", in, d, err)
		}
	}
	for _, in := range []string{`5`, `"5"`, `"-1s"`, `true`, `"1 hour"`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
	out, err := json.Marshal(Duration(1500 * time.Millisecond))
	if err != nil || string(out) != `"1.5s"` {
		t.Fatalf("marshal: %s, %v", out, err)
	}
	if err := d.UnmarshalText([]byte("2s")); err != nil || time.Duration(d) != 2*time.Second {
		t.Fatalf("UnmarshalText: %v, %v", d, err)
	}
	if err := d.UnmarshalText([]byte("2")); err == nil {
		t.Fatal("UnmarshalText accepted a bare number")
	}
	if d.String() != "2s" {
		t.Fatal(d.String())
	}
}

func TestConfigErrorText(t *testing.T) {
	e := &ConfigError{Kind: "webhook", Sink: "alerts", Key: "timeout", Value: "abc", Reason: "wants a duration"}
	if got, want := e.Error(), `sinks: sink "alerts" (webhook): key "timeout": wants a duration (got "abc")`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The value of a secret key, and any value that holds something from the
// environment, is never printed: the error names the key only.
func TestDecodeConfigErrorsHideSecrets(t *testing.T) {
	const token = "SuperSecretTok123"
	t.Setenv("DLETTER_TEST_TOKEN", token)
	cases := []struct {
		name string
		raw  map[string]any
		key  string
	}{
		{"map with an expanded secret where a number goes", map[string]any{
			"retries": map[string]any{"Authorization": "Bearer ${DLETTER_TEST_TOKEN}"}}, "retries"},
		{"headers value of the wrong type, holding an expanded secret", map[string]any{
			"headers": map[string]any{"Authorization": map[string]any{"v": "Bearer ${DLETTER_TEST_TOKEN}"}}}, "headers"},
		{"list with an expanded secret", map[string]any{"tags": []any{"${DLETTER_TEST_TOKEN}", 1}}, "tags"},
		{"duration from the environment", map[string]any{"timeout": "${DLETTER_TEST_TOKEN}"}, "timeout"},
		{"secret key of the wrong type", map[string]any{"api_key": 987654321}, "api_key"},
		{"secret key inside a map", map[string]any{"headers": map[string]any{"X-Token": 987654321}}, "headers"},
		{"url of the wrong type", map[string]any{"url": []any{"https://hooks.example/T0/B0/" + token}}, "url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := decodeErr(t, c.raw)
			if topKey(ce.Key) != c.key {
				t.Errorf("key = %q, want %q", ce.Key, c.key)
			}
			msg := ce.Error()
			for _, secret := range []string{token, "987654321"} {
				if strings.Contains(msg, secret) || strings.Contains(fmt.Sprintf("%+v", *ce), secret) {
					t.Errorf("error shows %q: %s", secret, msg)
				}
			}
			if !ce.Secret || ce.Value != nil || !strings.Contains(msg, "value not shown") {
				t.Errorf("error does not say the value is hidden: %+v: %s", *ce, msg)
			}
		})
	}
}

func TestConfigErrorHidesSecretKeyValue(t *testing.T) {
	for _, e := range []*ConfigError{
		{Kind: "email", Sink: "mail", Key: "password", Value: "hunter22", Reason: "is wrong"},
		{Kind: "slack", Sink: "ops", Key: "webhook_url", Value: "https://hooks.slack.com/services/T/B/hunter22", Reason: "is wrong"},
		{Kind: "webhook", Sink: "h", Key: "headers.Authorization", Value: "Bearer hunter22", Reason: "is wrong"},
		{Kind: "x", Sink: "y", Key: "addr", Value: "hunter22", Reason: "is wrong", Secret: true},
	} {
		if strings.Contains(e.Error(), "hunter22") {
			t.Errorf("%s", e.Error())
		}
	}
	// The name of a variable and a path are not secrets.
	e := &ConfigError{Kind: "webhook", Sink: "h", Key: "secret_env", Value: "HOOK_SECRET", Reason: "is not set"}
	if !strings.Contains(e.Error(), "HOOK_SECRET") {
		t.Errorf("the variable's name is hidden: %s", e.Error())
	}
}

func TestIsSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"secret": true, "password": true, "webhook_url": true, "url": true, "token": true,
		"api_key": true, "headers": true, "headers.X-A": true, "Authorization": true,
		"recipient_secrets": true, "secret_env": false, "password_file": false,
		"timeout": false, "from": false, "addr": false, "allow_recipient_hosts": false,
	} {
		if got := IsSecretKey(key); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}
