// Package config loads the configuration of `dletter serve`: a YAML file
// whose top-level keys are listen, data_dir, sinks, retry, delivery, dlq,
// auth and tls.
//
// Every mistake is reported with the file, the line of the key, the key's
// full dotted path and the value (never the value of a secret); a value that
// a command-line flag set is reported with the flag instead of the file.
// Unknown keys are errors: a typo such as "lisen" must not silently fall
// back to a default.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dletter/dletter/internal/fielderr"
	"github.com/dletter/dletter/sinks"
)

// Defaults of a daemon started with no configuration at all.
const (
	DefaultListen  = "127.0.0.1:8080"
	DefaultDataDir = "./dletter-data"
)

// DLQ backends.
const (
	BackendFile   = "file"
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// Config is the daemon's configuration.
type Config struct {
	// Listen is the HTTP listen address, host:port.
	Listen string `yaml:"listen"`
	// DataDir holds the file DLQ, the async delivery log and the audit log.
	DataDir string `yaml:"data_dir"`
	// Sinks maps the user's name of each sink to its block; the block's
	// "kind" key picks the factory (see sinks.BuildSink).
	Sinks map[string]map[string]any `yaml:"sinks"`
	// Retry is the raw retry block (max_attempts, base_backoff, max_backoff,
	// jitter_fraction, per_sink), decoded by the sinks package.
	Retry map[string]any `yaml:"retry"`
	// Delivery is the raw delivery block (concurrency, rate, burst,
	// circuit, shutdown_timeout, per_sink), decoded by the sinks package.
	Delivery map[string]any `yaml:"delivery"`
	// DLQ picks where dead letters are kept.
	DLQ DLQ `yaml:"dlq"`
	// Auth protects the API and the console.
	Auth Auth `yaml:"auth"`
	// TLS, when set, makes the daemon serve HTTPS.
	TLS TLS `yaml:"tls"`
	// Queue picks where async messages wait for delivery.
	Queue Queue `yaml:"queue"`

	// File is the path the configuration was read from, "" for defaults.
	File string `yaml:"-"`

	lines map[string]int    // the line of each dotted key in File
	flags map[string]string // keys set by a flag (see SetByFlag), to the flag
}

// DLQ is the dlq block.
type DLQ struct {
	// Backend is file (default), memory or redis.
	Backend string `yaml:"backend"`
	// Addrs are the Redis addresses; more than one means a Redis Cluster.
	Addrs []string `yaml:"addrs"`
	// Prefix namespaces the Redis keys.
	Prefix string `yaml:"prefix"`
	// MaxLen caps the number of items (per sink stream for Redis); 0 keeps
	// the backend's default.
	MaxLen int64 `yaml:"max_len"`
	// DB is the Redis database number of a single node (not a Cluster).
	DB int `yaml:"db"`
	// PasswordEnv and PasswordFile give the Redis password (AUTH), from an
	// environment variable or a file; never inline.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// RedriveRetention is how long a Redis DLQ keeps finished redrives
	// listed (default 7 days); 0 keeps the default.
	RedriveRetention sinks.Duration `yaml:"redrive_retention"`
}

// Auth is the auth block.
type Auth struct {
	// TokenEnv names the environment variable holding the bearer token.
	TokenEnv string `yaml:"token_env"`
	// TokenFile is a file holding the bearer token.
	TokenFile string `yaml:"token_file"`
	// ReadOnly refuses every request that changes the DLQ or sends.
	ReadOnly bool `yaml:"read_only"`
	// AllowedHosts are names, besides loopback addresses, localhost and the
	// listen host, that a daemon without a token accepts in the Host
	// header (such as a reverse proxy's name). Other Hosts get 421.
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// TLS is the tls block: the daemon's certificate (chain) and private key,
// PEM files, read at start and again on SIGHUP.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether a key pair is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

var tlsKeys = []string{"cert_file", "key_file"}

// Queue is the queue block: where async messages wait.
type Queue struct {
	// Backend is file (one machine: the data directory) or redis (shared
	// by every daemon on the DLQ's Redis, with its addrs, prefix, db and
	// password). Default: redis when the DLQ is on Redis, else file.
	Backend string `yaml:"backend"`
	// Lease is how long a Redis queue entry may stay with a daemon that
	// stopped answering before another daemon takes it over (default 30s).
	Lease sinks.Duration `yaml:"lease"`
}

// QueueBackend returns the queue's backend, the default resolved.
func (c *Config) QueueBackend() string {
	switch {
	case c.Queue.Backend != "":
		return c.Queue.Backend
	case c.DLQ.Backend == BackendRedis:
		return BackendRedis
	}
	return BackendFile
}

var queueKeys = []string{"backend", "lease"}

var (
	topKeys  = []string{"listen", "data_dir", "sinks", "retry", "delivery", "queue", "dlq", "auth", "tls"}
	dlqKeys  = []string{"backend", "addrs", "prefix", "max_len", "db", "password_env", "password_file", "redrive_retention"}
	authKeys = []string{"token_env", "token_file", "read_only", "allowed_hosts"}
)

// ErrInvalid matches every configuration error.
var ErrInvalid = errors.New("config: invalid configuration")

// Error is a configuration mistake: where it is, which key, what is wrong.
type Error struct {
	File   string // the configuration file, "" for flags and defaults
	Line   int    // 1-based line, 0 when unknown
	Key    string // dotted key, such as "dlq.backend"
	Flag   string // the flag that set the value, such as "--listen"; it replaces File and Key in the message
	Value  any    // the offending value, nil when missing or secret
	Reason string
	// Secret says that the value is not to be shown (it is nil): the
	// message says so instead, as a *sinks.ConfigError does.
	Secret bool
	Err    error // the cause, if any
}

// Error formats as `config: dletter.yaml:3: key "dlq.backend": reason (got "x")`,
// or `config: flag "--listen": reason (got "x")` for a value a flag set.
func (e *Error) Error() string {
	m := fielderr.Message{Prefix: "config", File: e.File, Line: e.Line, Path: e.Key,
		Value: e.Value, Secret: e.Secret, Reason: e.Reason}
	if e.Flag != "" {
		m.File, m.Line, m.Noun, m.Path = "", 0, "flag", e.Flag
	}
	return m.String()
}

// Is matches ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Default returns the configuration of a daemon started with no file.
func Default() *Config {
	return &Config{
		Listen:  DefaultListen,
		DataDir: DefaultDataDir,
		DLQ:     DLQ{Backend: BackendFile},
	}
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		reason := err
		if cause := errors.Unwrap(err); cause != nil {
			reason = cause // the path is in the message already
		}
		return nil, &Error{File: path, Reason: "cannot read the configuration file: " + reason.Error(), Err: err}
	}
	return Parse(data, path)
}

// Parse decodes and validates a configuration document; file names it in
// errors. Keys left out take their defaults.
func Parse(data []byte, file string) (*Config, error) {
	cfg := Default()
	cfg.File = file
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Reason: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "), Err: err}
	}
	if len(doc.Content) == 0 { // an empty file keeps every default
		return cfg, cfg.Validate()
	}
	root := doc.Content[0]
	cfg.lines = keyLines(root)
	if err := checkMapping(file, "", root, topKeys); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		var err error
		switch key {
		case "dlq":
			if err = checkMapping(file, "dlq", val, dlqKeys); err == nil {
				err = decode(file, "dlq", val, &cfg.DLQ)
			}
		case "auth":
			if err = checkMapping(file, "auth", val, authKeys); err == nil {
				err = decode(file, "auth", val, &cfg.Auth)
			}
		case "queue":
			if err = checkMapping(file, "queue", val, queueKeys); err == nil {
				err = decode(file, "queue", val, &cfg.Queue)
			}
		case "tls":
			if err = checkMapping(file, "tls", val, tlsKeys); err == nil {
				err = decode(file, "tls", val, &cfg.TLS)
			}
		case "sinks":
			err = decodeSinks(file, val, cfg)
		case "retry":
			if err = checkMapping(file, "retry", val, nil); err == nil {
				err = decode(file, "retry", val, &cfg.Retry)
			}
		case "delivery":
			if err = checkMapping(file, "delivery", val, nil); err == nil {
				err = decode(file, "delivery", val, &cfg.Delivery)
			}
		case "listen":
			err = decode(file, key, val, &cfg.Listen)
		case "data_dir":
			err = decode(file, key, val, &cfg.DataDir)
		}
		if err != nil {
			return nil, err
		}
	}
	return cfg, cfg.Validate()
}

// checkMapping reports a node that is not a mapping, and with known != nil a
// key that is not in known.
func checkMapping(file, section string, n *yaml.Node, known []string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		what := "the document"
		if section != "" {
			what = section
		}
		return &Error{File: file, Line: n.Line, Key: section, Reason: what + " must be a mapping of keys to values"}
	}
	if known == nil {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !contains(known, k.Value) {
			return &Error{File: file, Line: k.Line, Key: join(section, k.Value),
				Reason: "unknown key (known keys: " + strings.Join(known, ", ") + ")"}
		}
	}
	return nil
}

func decode(file, key string, n *yaml.Node, dst any) error {
	if err := n.Decode(dst); err != nil {
		e := &Error{File: file, Line: n.Line, Key: key, Reason: "wrong type: " + typeReason(err), Err: err}
		if k, _ := badPair(n, dst); k != nil {
			e.Line, e.Key = k.Line, join(key, k.Value)
		}
		return e
	}
	return nil
}

// typeReason shortens yaml's "cannot unmarshal !!str `abc` into int64".
func typeReason(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
			msg = msg[i+2:]
		}
		return msg
	}
	return err.Error()
}

func decodeSinks(file string, n *yaml.Node, cfg *Config) error {
	if err := checkMapping(file, "sinks", n, nil); err != nil {
		return err
	}
	cfg.Sinks = make(map[string]map[string]any)
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, block := n.Content[i], n.Content[i+1]
		key := "sinks." + name.Value
		if name.Value == "" {
			return &Error{File: file, Line: name.Line, Key: "sinks", Reason: "a sink needs a non-empty name"}
		}
		if block.Kind != yaml.MappingNode {
			return &Error{File: file, Line: block.Line, Key: key, Reason: "a sink must be a mapping with at least a kind key"}
		}
		var raw map[string]any
		if err := decode(file, key, block, &raw); err != nil {
			return err
		}
		kind, ok := raw["kind"].(string)
		if !ok || kind == "" {
			return &Error{File: file, Line: block.Line, Key: key + ".kind", Value: raw["kind"],
				Reason: "is required: the sink's kind, such as webhook, slack or email"}
		}
		cfg.Sinks[name.Value] = raw
	}
	return nil
}

// Validate checks the values (the keys were checked by Parse). Flags that
// override the file are validated the same way.
func (c *Config) Validate() error {
	fail := func(key string, value any, reason string) error {
		return c.errorAt(key, value, reason)
	}
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fail("listen", c.Listen, "wants host:port, such as 127.0.0.1:8080")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fail("listen", c.Listen, "wants a port number from 1 to 65535 (or 0 for any free port), such as 127.0.0.1:8080")
	}
	if c.DataDir == "" {
		return fail("data_dir", nil, "must not be empty")
	}
	switch c.DLQ.Backend {
	case BackendFile, BackendMemory:
		if len(c.DLQ.Addrs) > 0 {
			return fail("dlq.addrs", c.DLQ.Addrs, "only the redis backend takes addresses")
		}
	case BackendRedis:
		if len(c.DLQ.Addrs) == 0 {
			return fail("dlq.addrs", nil, "the redis backend needs at least one address, such as [127.0.0.1:6379]")
		}
		for _, a := range c.DLQ.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return fail("dlq.addrs", a, "wants host:port")
			}
		}
	default:
		return fail("dlq.backend", c.DLQ.Backend, "must be file, memory or redis")
	}
	if c.DLQ.DB < 0 || (c.DLQ.DB > 0 && len(c.DLQ.Addrs) > 1) {
		return fail("dlq.db", c.DLQ.DB, "must be 0 or more, and 0 for a Redis Cluster")
	}
	if c.DLQ.RedriveRetention < 0 {
		return fail("dlq.redrive_retention", c.DLQ.RedriveRetention.String(), "must not be negative")
	}
	if c.DLQ.MaxLen < 0 {
		return fail("dlq.max_len", c.DLQ.MaxLen, "must not be negative")
	}
	if c.Auth.TokenEnv != "" && c.Auth.TokenFile != "" {
		return fail("auth", nil, "set only one of token_env and token_file")
	}
	if c.TLS.Enabled() && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		return fail("tls", nil, "set both cert_file and key_file (or --tls-cert and --tls-key)")
	}
	for _, h := range c.Auth.AllowedHosts {
		if !validHostName(h) {
			return fail("auth.allowed_hosts", h, "wants a host name or IP address, without scheme, port or path, such as dletter.example.com")
		}
	}
	switch c.Queue.Backend {
	case "", BackendFile:
	case BackendRedis:
		if c.DLQ.Backend != BackendRedis {
			return fail("queue.backend", c.Queue.Backend, "a redis queue uses the DLQ's Redis: set dlq.backend: redis and dlq.addrs")
		}
	default:
		return fail("queue.backend", c.Queue.Backend, "must be file or redis")
	}
	if c.Queue.Lease < 0 {
		return fail("queue.lease", c.Queue.Lease.String(), "must not be negative")
	}
	if _, err := c.RetryPolicy(); err != nil {
		return err
	}
	_, err = c.DeliveryPolicy()
	return err
}

// RetryPolicy decodes the retry block. A per_sink block for a sink that is
// not configured is an error naming it.
func (c *Config) RetryPolicy() (sinks.RetryPolicy, error) {
	p, err := sinks.DecodeRetryPolicy(c.Retry)
	if err != nil {
		return p, c.sectionError(err)
	}
	return p, knownSinksOf(c, "retry", p.PerSink)
}

// DeliveryPolicy decodes the delivery block. A per_sink block for a sink
// that is not configured is an error naming it.
func (c *Config) DeliveryPolicy() (sinks.DeliveryPolicy, error) {
	p, err := sinks.DecodeDeliveryPolicy(c.Delivery)
	if err != nil {
		return p, c.sectionError(err)
	}
	return p, knownSinksOf(c, "delivery", p.PerSink)
}

// sectionError turns the *sinks.ConfigError of a retry or delivery block
// into an *Error naming the file.
func (c *Config) sectionError(err error) error { return c.keyError("", err) }

// SinkError turns the error of building sink name (a *sinks.ConfigError
// about a key of its block) into an *Error naming the file and the key's
// full path, such as "sinks.alerts.timeout"; the *sinks.ConfigError stays
// in the chain. Other errors are returned as they are.
func (c *Config) SinkError(name string, err error) error {
	var ce *sinks.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	return c.keyError("sinks."+name+".", err)
}

// keyError turns err into an *Error naming the file, with the key of its
// *sinks.ConfigError, if it has one, under prefix.
func (c *Config) keyError(prefix string, err error) error {
	key := strings.TrimSuffix(prefix, ".")
	var ce *sinks.ConfigError
	if !errors.As(err, &ce) {
		e := c.errorAt(key, nil, err.Error())
		e.Err = err
		return e
	}
	if ce.Key != "" {
		key = prefix + ce.Key
	}
	e := c.errorAt(key, ce.Value, ce.Reason)
	e.Err = err
	if ce.Withheld() {
		e.Value, e.Secret = nil, true
	}
	return e
}

// knownSinksOf reports the first per_sink name of section that names no
// configured sink: a typo would otherwise leave the sink on the defaults.
func knownSinksOf[V any](c *Config, section string, per map[string]V) error {
	for _, name := range slices.Sorted(maps.Keys(per)) {
		if _, ok := c.Sinks[name]; !ok {
			configured := strings.Join(c.SinkNames(), ", ")
			if configured == "" {
				configured = "none"
			}
			return c.errorAt(section+".per_sink."+name,
				nil, fmt.Sprintf("no sink called %q is configured (configured: %s)", name, configured))
		}
	}
	return nil
}

// validHostName reports whether h is an IP address (IPv6 with or without
// brackets) or a DNS name of letters, digits, dots, hyphens and underscores.
func validHostName(h string) bool {
	if net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) != nil {
		return true
	}
	if h == "" || strings.Trim(h, ".") == "" {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// ErrBlankToken is returned (wrapped in *Error) for a token source that
// holds only whitespace: it would otherwise turn authentication off.
var ErrBlankToken = errors.New("config: the token is empty or only whitespace")

// Token resolves the bearer token from auth.token_env or auth.token_file,
// with surrounding whitespace removed. It returns "" only when neither is
// set: a source that yields nothing but whitespace is an error, because an
// empty token disables authentication. The error names the variable or the
// file, never the token.
func (c *Config) Token() (string, error) {
	tok, err := c.secret("auth", "token", c.Auth.TokenEnv, c.Auth.TokenFile)
	if err != nil {
		return "", err
	}
	tok = strings.TrimSpace(tok)
	if tok == "" && c.Auth.TokenEnv != "" {
		e := c.errorAt("auth.token_env", c.Auth.TokenEnv,
			"the environment variable holds only whitespace: set it to the token (a blank token would turn authentication off)")
		e.Err = ErrBlankToken
		return "", e
	}
	if tok == "" && c.Auth.TokenFile != "" {
		e := c.errorAt("auth.token_file", c.Auth.TokenFile,
			"the file holds only whitespace: write the token into it (a blank token would turn authentication off)")
		e.Err = ErrBlankToken
		return "", e
	}
	return tok, nil
}

// RedisPassword resolves dlq.password_env or dlq.password_file ("" when
// neither is set). The error names the variable or file, never the password.
func (c *Config) RedisPassword() (string, error) {
	return c.secret("dlq", "password", c.DLQ.PasswordEnv, c.DLQ.PasswordFile)
}

// secret reads the secret section.key from the environment variable env or
// the file, with sinks.ResolveSecret, and reports failures as *Error.
func (c *Config) secret(section, key, env, file string) (string, error) {
	v, err := sinks.ResolveSecret("", "", key, "", env, file)
	if err != nil {
		return "", c.keyError(section+".", err)
	}
	return v, nil
}

// LoopbackOnly reports whether Listen binds only loopback addresses, where
// the API may run without a token.
func (c *Config) LoopbackOnly() bool { return IsLoopback(c.Listen) }

// IsLoopback reports whether the host of addr (host:port) is a loopback
// address or "localhost". An empty host binds every interface: not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SinkNames returns the configured sink names, sorted.
func (c *Config) SinkNames() []string {
	names := make([]string, 0, len(c.Sinks))
	for n := range c.Sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func join(section, key string) string {
	if section == "" {
		return key
	}
	return section + "." + key
}
