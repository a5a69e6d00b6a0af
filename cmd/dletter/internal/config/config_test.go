package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

func TestParseFull(t *testing.T) {
	doc := `
listen: 0.0.0.0:9090
data_dir: /var/lib/dletter
sinks:
  ops-alerts:
    kind: slack
    webhook_url_env: SLACK_URL
  orders:
    kind: webhook
    url: http://127.0.0.1:9/hook
retry:
  max_attempts: 3
  base_backoff: 500ms
  per_sink:
    orders: {max_attempts: 8}
dlq:
  backend: redis
  addrs: [127.0.0.1:6379, 127.0.0.1:6380]
  prefix: myapp
  max_len: 5000
auth:
  token_env: DLETTER_TOKEN
  read_only: true
  allowed_hosts: [dletter.internal.example, "10.0.0.5", "[fd00::5]"]
tls:
  cert_file: /etc/dletter/cert.pem
  key_file: /etc/dletter/key.pem
`
	cfg, err := Parse([]byte(doc), "dletter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:9090" || cfg.DataDir != "/var/lib/dletter" {
		t.Errorf("listen/data_dir = %q %q", cfg.Listen, cfg.DataDir)
	}
	if got := cfg.SinkNames(); strings.Join(got, ",") != "ops-alerts,orders" {
		t.Errorf("sinks = %v", got)
	}
	if cfg.Sinks["orders"]["url"] != "http://127.0.0.1:9/hook" || cfg.Sinks["orders"]["kind"] != "webhook" {
		t.Errorf("orders block = %v", cfg.Sinks["orders"])
	}
	if cfg.Retry["max_attempts"] != 3 || cfg.Retry["base_backoff"] != "500ms" {
		t.Errorf("retry = %#v", cfg.Retry)
	}
	if ps, ok := cfg.Retry["per_sink"].(map[string]any); !ok || ps["orders"] == nil {
		t.Errorf("retry.per_sink = %#v", cfg.Retry["per_sink"])
	}
	want := DLQ{Backend: "redis", Addrs: []string{"127.0.0.1:6379", "127.0.0.1:6380"}, Prefix: "myapp", MaxLen: 5000}
	if cfg.DLQ.Backend != want.Backend || len(cfg.DLQ.Addrs) != 2 || cfg.DLQ.Prefix != want.Prefix || cfg.DLQ.MaxLen != want.MaxLen {
		t.Errorf("dlq = %+v", cfg.DLQ)
	}
	if cfg.TLS != (TLS{CertFile: "/etc/dletter/cert.pem", KeyFile: "/etc/dletter/key.pem"}) || !cfg.TLS.Enabled() {
		t.Errorf("tls = %+v", cfg.TLS)
	}
	if !cfg.Auth.ReadOnly || cfg.Auth.TokenEnv != "DLETTER_TOKEN" || strings.Join(cfg.Auth.AllowedHosts, ",") != "dletter.internal.example,10.0.0.5,[fd00::5]" {
		t.Errorf("auth = %+v", cfg.Auth)
	}
	if cfg.LoopbackOnly() {
		t.Error("0.0.0.0 reported as loopback")
	}
}

func TestDefaults(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "listen: 127.0.0.1:8080\n"} {
		cfg, err := Parse([]byte(doc), "x.yaml")
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if cfg.Listen != DefaultListen || cfg.DataDir != DefaultDataDir || cfg.DLQ.Backend != BackendFile {
			t.Errorf("%q: defaults not kept: %+v", doc, cfg)
		}
		if !cfg.LoopbackOnly() {
			t.Errorf("default listen is not loopback")
		}
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		doc  string
		want []string // substrings of the error
	}{
		{"lisen: 1.2.3.4:80\n", []string{`key "lisen"`, "unknown key", "x.yaml:1"}},
		{"dlq:\n  backend: file\n  maxlen: 3\n", []string{`key "dlq.maxlen"`, "unknown key", "x.yaml:3", "max_len"}},
		{"auth:\n  token: secret-value\n", []string{`key "auth.token"`, "unknown key"}},
		{"dlq: {backend: mysql}\n", []string{`key "dlq.backend"`, `"mysql"`}},
		{"dlq: {backend: redis}\n", []string{`key "dlq.addrs"`}},
		{"dlq: {backend: redis, addrs: [nohost]}\n", []string{`key "dlq.addrs"`, `"nohost"`}},
		{"dlq: {max_len: lots}\n", []string{`key "dlq.max_len"`, "lots"}},
		{"dlq: {max_len: -1}\n", []string{`key "dlq.max_len"`}},
		{"listen: nope\n", []string{`key "listen"`, `"nope"`}},
		{"listen: [a]\n", []string{`key "listen"`}},
		{"listen: 127.0.0.1:99999\n", []string{`key "listen"`, "port number from 1 to 65535", `"127.0.0.1:99999"`}},
		{"listen: 127.0.0.1:http\n", []string{`key "listen"`, "port number"}},
		{"listen: '127.0.0.1:'\n", []string{`key "listen"`, "port number"}},
		{"data_dir: ''\n", []string{`key "data_dir"`}},
		{"sinks:\n  a: {url: x}\n", []string{`key "sinks.a.kind"`, "required"}},
		{"sinks:\n  a: webhook\n", []string{`key "sinks.a"`}},
		{"sinks: [a, b]\n", []string{`key "sinks"`, "mapping"}},
		{"auth: {token_env: A, token_file: B}\n", []string{`key "auth"`, "only one"}},
		{"dlq: {password: hunter2}\n", []string{`key "dlq.password"`, "unknown key", "password_env"}},
		{"tls: {cert_file: c.pem}\n", []string{`key "tls"`, "key_file"}},
		{"tls: {key_file: k.pem}\n", []string{`key "tls"`, "cert_file"}},
		{"tls: {cert: c.pem}\n", []string{`key "tls.cert"`, "unknown key", "cert_file"}},
		{"auth: {allowed_hosts: [https://proxy.example]}\n", []string{`key "auth.allowed_hosts"`, `"https://proxy.example"`}},
		{"auth: {allowed_hosts: [proxy.example:443]}\n", []string{`key "auth.allowed_hosts"`, "without scheme, port or path"}},
		{"auth: {allowed_hosts: ['']}\n", []string{`key "auth.allowed_hosts"`}},
		{"auth: {allowed_hosts: proxy.example}\n", []string{`key "auth.allowed_hosts"`}},
		{"- a\n- b\n", []string{"mapping"}},
		{"listen: [\n", []string{"not valid YAML"}},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc), "x.yaml")
		if err == nil {
			t.Errorf("%q: no error", c.doc)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v does not match ErrInvalid", c.doc, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not contain %q", c.doc, err, w)
			}
		}
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	if tok, err := cfg.Token(); err != nil || tok != "" {
		t.Fatalf("no auth: %q %v", tok, err)
	}
	cfg.Auth.TokenFile = file
	if tok, err := cfg.Token(); err != nil || tok != "s3cret-token" {
		t.Fatalf("file: %q %v", tok, err)
	}
	cfg.Auth = Auth{TokenEnv: "DLETTER_TEST_TOKEN_VAR"}
	t.Setenv("DLETTER_TEST_TOKEN_VAR", "from-env")
	if tok, err := cfg.Token(); err != nil || tok != "from-env" {
		t.Fatalf("env: %q %v", tok, err)
	}
	cfg.Auth = Auth{TokenFile: filepath.Join(dir, "missing")}
	_, err := cfg.Token()
	if err == nil || !strings.Contains(err.Error(), "auth.token_file") || !errors.Is(err, ErrInvalid) {
		t.Fatalf("missing file: %v", err)
	}
	cfg.Auth = Auth{TokenEnv: "DLETTER_TEST_UNSET_VAR"}
	if _, err := cfg.Token(); err == nil || !strings.Contains(err.Error(), "DLETTER_TEST_UNSET_VAR") {
		t.Fatalf("unset env: %v", err)
	}
}

// TestTokenBlankIsAnError: a token source holding only whitespace is a
// configuration error naming the variable or the file (never the value),
// not a silently disabled authentication.
func TestTokenBlankIsAnError(t *testing.T) {
	dir := t.TempDir()
	blankFile := filepath.Join(dir, "blank-token")
	if err := os.WriteFile(blankFile, []byte(" \t \r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DLETTER_TEST_BLANK_TOKEN", " \t ")
	for _, c := range []struct {
		auth      Auth
		key, name string
	}{
		{Auth{TokenEnv: "DLETTER_TEST_BLANK_TOKEN"}, "auth.token_env", "DLETTER_TEST_BLANK_TOKEN"},
		{Auth{TokenFile: blankFile}, "auth.token_file", blankFile},
	} {
		cfg := Default()
		cfg.Auth = c.auth
		tok, err := cfg.Token()
		if err == nil || tok != "" {
			t.Errorf("%s: token %q, err %v: want an error", c.key, tok, err)
			continue
		}
		msg := err.Error()
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrBlankToken) ||
			!strings.Contains(msg, c.key) || !strings.Contains(msg, c.name) || strings.Contains(msg, "\t") {
			t.Errorf("%s: %v", c.key, err)
		}
	}
	// Whitespace around a real token is still trimmed.
	t.Setenv("DLETTER_TEST_BLANK_TOKEN", "  tok \n")
	cfg := Default()
	cfg.Auth = Auth{TokenEnv: "DLETTER_TEST_BLANK_TOKEN"}
	if tok, err := cfg.Token(); err != nil || tok != "tok" {
		t.Errorf("padded token: %q %v", tok, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.5.5.5:1": true, "[::1]:80": true, "localhost:80": true,
		"0.0.0.0:80": false, ":8080": false, "10.0.0.1:80": false, "[::]:80": false,
		"example.com:80": false, "garbage": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil || !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	if want := "config: " + path + ": cannot read the configuration file: no such file or directory"; err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// A value that is wrong (not only a key that is unknown) is reported with
// the line of its key; a key the file does not have with the line of the
// nearest one it has.
func TestValueErrorsNameTheLine(t *testing.T) {
	const head = "# dletter\nsinks:\n  mail: {kind: webhook}\n"
	for _, tc := range []struct {
		doc  string
		want string
	}{
		{"listen: nope\n", `x.yaml:4: key "listen"`},
		{"dlq:\n  backend: file\n  max_len: -1\n", `x.yaml:6: key "dlq.max_len"`},
		{"dlq:\n  backend: redis\n", `x.yaml:4: key "dlq.addrs"`},
		{"dlq:\n  backend: redis\n  addrs:\n    - 127.0.0.1:6379\n    - nohost\n", `x.yaml:6: key "dlq.addrs"`},
		{"dlq:\n  max_len: lots\n", `x.yaml:5: key "dlq.max_len"`},
		{"delivery:\n  circuit:\n    failures: 1\n    cooldown: forever\n", `x.yaml:7: key "delivery.circuit.cooldown"`},
		{"retry:\n  per_sink:\n    mial:\n      max_attempts: 2\n", `x.yaml:6: key "retry.per_sink.mial"`},
		{"auth:\n  allowed_hosts: [ok.example, \"https://x\"]\n", `x.yaml:5: key "auth.allowed_hosts"`},
	} {
		_, err := Parse([]byte(head+tc.doc), "x.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+tc.want+": ") {
			t.Errorf("%q: got %v, want it to start with %s", tc.doc, err, tc.want)
		}
	}
}

// A value that a flag set is reported with the flag, not the file's line.
func TestFlagValueErrorsNameTheFlag(t *testing.T) {
	cfg, err := Parse([]byte("listen: 127.0.0.1:9000\ndlq: {backend: file}\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "nope"
	cfg.SetByFlag("listen", "--listen")
	if got, want := fmt.Sprint(cfg.Validate()), `config: flag "--listen": wants host:port, such as 127.0.0.1:8080 (got "nope")`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	cfg.Listen = "127.0.0.1:9000"
	cfg.DLQ = DLQ{Backend: BackendRedis}
	cfg.SetByFlag("dlq", "--dlq")
	if err := cfg.Validate(); !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), `config: flag "--dlq": `) {
		t.Errorf("a key under a flag's key: %v", err)
	}
}

// FuzzParse: no input makes Parse panic, and whatever it accepts validates.
func FuzzParse(f *testing.F) {
	f.Add([]byte("listen: 127.0.0.1:8080\ndata_dir: d\n"))
	f.Add([]byte("sinks:\n  a: {kind: webhook, url: x}\nretry: {max_attempts: 2}\n"))
	f.Add([]byte("dlq: {backend: redis, addrs: [h:1], max_len: 3}\nauth: {token_env: X}\n"))
	f.Add([]byte("tls: {cert_file: c.pem, key_file: k.pem}\nauth: {allowed_hosts: [a.example]}\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
	})
}

func TestParseDelivery(t *testing.T) {
	doc := `
sinks:
  mail: {kind: webhook, url: "http://127.0.0.1:9/mail"}
  hook: {kind: webhook, url: "http://127.0.0.1:9/hook"}
delivery:
  concurrency: 8
  circuit: {failures: 3, cooldown: 10s}
  shutdown_timeout: 5s
  per_sink:
    mail: {concurrency: 2, rate: 10, circuit: {failures: 0}}
`
	cfg, err := Parse([]byte(doc), "dletter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.DeliveryPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.For("hook"); got.Concurrency != 8 || got.Circuit.Failures != 3 || got.Circuit.Cooldown != 10*time.Second {
		t.Errorf("hook = %+v", got)
	}
	if got := p.For("mail"); got.Concurrency != 2 || got.Rate != 10 || got.Burst != 10 || got.Circuit.Failures != sinks.CircuitOff ||
		got.Circuit.Cooldown != 10*time.Second {
		t.Errorf("mail = %+v, want concurrency 2, rate 10, breaker off, the global cooldown", got)
	}
	if p.Shutdown() != 5*time.Second {
		t.Errorf("shutdown = %v", p.Shutdown())
	}
}

func TestParseDeliveryErrors(t *testing.T) {
	for _, tc := range []struct{ doc, key, text string }{
		{"delivery: {concurrency: -1}", "delivery.concurrency", "-1"},
		{"delivery: {rate: fast}", "delivery.rate", "fast"},
		{"delivery: {burst: -3}", "delivery.burst", "-3"},
		{"delivery: {circuit: {failures: -2}}", "delivery.circuit.failures", "-2"},
		{"delivery: {circuit: {cooldown: -1s}}", "delivery.circuit.cooldown", `must not be negative (got "-1s")`},
		{"delivery: {circuit: {cooldown: 0s}}", "delivery.circuit.cooldown", "positive"},
		{"delivery: {concurrency: [1]}", "delivery.concurrency", "wants a number"},
		{"delivery: {per_sink: {mial: {rate: 1}}}", "delivery.per_sink.mial", `no sink called "mial"`},
		{"retry: {per_sink: {mial: {max_attempts: 2}}}", "retry.per_sink.mial", `no sink called "mial"`},
		{"delivery: 5", "delivery", "mapping"},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			doc := "sinks:\n  mail: {kind: webhook, url: \"http://127.0.0.1:9/\"}\n" + tc.doc
			_, err := Parse([]byte(doc), "dletter.yaml")
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want a config error", err)
			}
			if ce.Key != tc.key || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "dletter.yaml") {
				t.Errorf("err = %v (key %q), want key %q, %q and the file in it", err, ce.Key, tc.key, tc.text)
			}
		})
	}
}

// A bad value inside a map is named by its full path, and only that value
// is shown (withheld when it is secret).
func TestNestedValueErrorsNameTheLeaf(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"delivery: {circuit: {cooldown: forever}}",
			`key "delivery.circuit.cooldown": wants a duration such as 30s (got "forever")`},
		{"delivery: {circuit: {failures: x, cooldown: 10s}}",
			`key "delivery.circuit.failures": wants a number (got "x")`},
		{"delivery: {per_sink: {mail: {circuit: {cooldown: soon}}}}",
			`key "delivery.per_sink.mail.circuit.cooldown": wants a duration such as 30s (got "soon")`},
		{"retry: {per_sink: {mail: {base_backoff: [1]}}}",
			`key "retry.per_sink.mail.base_backoff": wants a duration such as 30s, with a unit (got [1])`},
		{"retry: {max_attempt: 3}",
			`key "retry.max_attempt": unknown key (known keys: base_backoff, jitter_fraction, max_attempts, max_backoff, per_sink)`},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			doc := "sinks:\n  mail: {kind: webhook, url: \"http://127.0.0.1:9/\"}\n" + tc.doc
			_, err := Parse([]byte(doc), "dletter.yaml")
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || strings.Contains(err.Error(), "{") {
				t.Errorf("got  %v\nwant ...%s", err, tc.want)
			}
		})
	}
	t.Run("sink headers", func(t *testing.T) {
		cfg, err := Parse([]byte("sinks:\n  h: {kind: webhook, headers: {X-Ok: fine, X-Bad: [1, 2]}}\n"), "dletter.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var block struct {
			Headers map[string]string `json:"headers"`
		}
		err = cfg.SinkError("h", sinks.DecodeConfig("webhook", "h", cfg.Sinks["h"], &block))
		want := `key "sinks.h.headers.X-Bad": wants a string (value not shown`
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "[1,2]") {
			t.Errorf("got  %v\nwant %s...", err, want)
		}
	})
}

func TestParseQueue(t *testing.T) {
	redis := "dlq: {backend: redis, addrs: [127.0.0.1:6379]}\n"
	for _, tc := range []struct{ doc, backend string }{
		{"", BackendFile},
		{redis, BackendRedis},
		{redis + "queue: {backend: file}", BackendFile},
		{redis + "queue: {lease: 10s}", BackendRedis},
	} {
		cfg, err := Parse([]byte(tc.doc), "dletter.yaml")
		if err != nil {
			t.Fatalf("%q: %v", tc.doc, err)
		}
		if got := cfg.QueueBackend(); got != tc.backend {
			t.Errorf("%q: queue backend %q, want %q", tc.doc, got, tc.backend)
		}
	}
	for _, tc := range []struct{ doc, key string }{
		{"queue: {backend: redis}", "queue.backend"},
		{"queue: {backend: kafka}", "queue.backend"},
		{"queue: {lease: soon}", "queue.lease"},
		{"queue: {leese: 1s}", "queue.leese"},
	} {
		_, err := Parse([]byte(tc.doc), "dletter.yaml")
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%q: err = %v, want key %q", tc.doc, err, tc.key)
		}
	}
}

// TestSinkErrorNamesFileAndKey: a mistake in a sink's block reads like every
// other configuration error (the file, the key's full path, the value), the
// *sinks.ConfigError stays matchable, and a secret value is withheld, as
// sinks withholds it.
func TestSinkErrorNamesFileAndKey(t *testing.T) {
	cfg, err := Parse([]byte("sinks:\n  alerts: {kind: webhook, url: \"http://127.0.0.1:9/\", timeout: soon}\n"), "dletter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var block struct {
		URL     string         `json:"url"`
		Timeout sinks.Duration `json:"timeout"`
	}
	err = cfg.SinkError("alerts", sinks.DecodeConfig("webhook", "alerts", cfg.Sinks["alerts"], &block))
	var e *Error
	var ce *sinks.ConfigError
	if !errors.As(err, &e) || !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) || !errors.Is(err, sinks.ErrInvalidConfig) {
		t.Fatalf("err = %v, want a *config.Error around a *sinks.ConfigError", err)
	}
	if want := `config: dletter.yaml:2: key "sinks.alerts.timeout": ` + ce.Reason + ` (got "soon")`; err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	for _, ce := range []*sinks.ConfigError{
		{Kind: "email", Sink: "alerts", Key: "password", Value: "hunter22", Reason: "is wrong"},
		{Kind: "webhook", Sink: "alerts", Key: "timeout", Reason: "is wrong", Secret: true},
	} {
		msg := cfg.SinkError("alerts", ce).Error()
		if strings.Contains(msg, "hunter22") || !strings.Contains(msg, "value not shown") || !strings.Contains(msg, `"sinks.alerts.`+ce.Key+`"`) {
			t.Errorf("%+v: %s", *ce, msg)
		}
	}
	plain := errors.New("disk full")
	if got := cfg.SinkError("alerts", plain); got != plain {
		t.Errorf("an error that is no ConfigError became %v", got)
	}
}
