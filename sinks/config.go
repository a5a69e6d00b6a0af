package sinks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dletter/dletter/internal/fielderr"
	"github.com/dletter/dletter/internal/jsonfields"
)

// ConfigError reports a bad configuration key. It names the sink, the key
// and the offending value, and matches ErrInvalidConfig. The value is never
// shown when it is secret: when the key holds one (see IsSecretKey) or when
// Secret is set, which DecodeConfig and BuildSink do for every value that
// came from the environment or a file.
type ConfigError struct {
	Kind   string // the sink kind, such as "webhook"
	Sink   string // the user's name for the sink
	Key    string // the key, such as "timeout" or "headers.X-Token"
	Value  any    // the offending value; nil when missing or secret
	Reason string // what is wrong, such as "is required"
	// Secret says that the value is not to be shown: Error names the key
	// only. Whoever sets it also leaves Value nil.
	Secret bool
}

// Error formats the error as
// `sinks: sink "alerts" (webhook): key "timeout": <reason> (got "abc")`,
// saying "value not shown" in place of a secret value.
func (e *ConfigError) Error() string {
	m := fielderr.Message{Prefix: "sinks", Path: e.Key, Value: e.Value, Reason: e.Reason, Secret: e.Withheld()}
	if e.Sink != "" || e.Kind != "" {
		m.Scope = fmt.Sprintf("sink %q", e.Sink)
		if e.Kind != "" {
			m.Scope += " (" + e.Kind + ")"
		}
	}
	return m.String()
}

// Withheld reports whether Error keeps the value back: Secret is set, or
// the key holds a secret (see IsSecretKey) and a value was given. An error
// that carries e on, such as the daemon's, withholds it too.
func (e *ConfigError) Withheld() bool {
	return e.Secret || (e.Value != nil && IsSecretKey(e.Key))
}

// Is makes a *ConfigError match ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// DecodeConfig decodes the raw configuration block of sink name (of the given
// kind) into dst, a pointer to a struct whose fields carry json tags. It is
// what factories use, so that every kind reports mistakes the same way:
//
//   - a key that dst has no field for is an error (a typo never passes
//     silently); the key "kind" is ignored;
//   - a value of the wrong type is an error naming the full dotted path to
//     it (such as "circuit.cooldown", "headers.X-Token" or "tags[1]") and
//     that value alone; an unknown key inside a map is named the same way;
//   - "${NAME}" in a string value is replaced by the environment variable
//     NAME, and an unset NAME is an error ("$${" stands for a literal "${");
//   - a Duration field takes Go's duration syntax ("500ms", "30s");
//   - an error never shows a value that holds anything from the environment,
//     nor the value of a secret key (see IsSecretKey): it names the key.
//
// Checking required keys is left to the factory, which returns a
// *ConfigError with Reason "is required".
func DecodeConfig(kind, name string, raw map[string]any, dst any) error {
	return decodeConfig(kind, name, raw, dst)
}

// decodeConfig is DecodeConfig, with also naming keys of the block that the
// caller decodes itself (such as per_sink): an unknown key's error lists
// them among the known keys.
func decodeConfig(kind, name string, raw map[string]any, dst any, also ...string) error {
	fromEnv := make(map[string]bool) // keys whose value holds an expansion
	fail := func(key string, value any, reason string) error {
		e := &ConfigError{Kind: kind, Sink: name, Key: key, Value: value, Reason: reason}
		if fromEnv[topKey(key)] || IsSecretKey(key) {
			e.Value, e.Secret = nil, value != nil
		}
		return e
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return Errorf(CodeInternal, "DecodeConfig", "dst must be a pointer to a struct, got %T", dst)
	}
	known := jsonfields.Of(rv.Elem().Type())
	for _, k := range also {
		known[k] = nil
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	clean := make(map[string]any, len(raw))
	for _, k := range keys {
		if k == "kind" {
			continue
		}
		if _, ok := known[k]; !ok {
			return fail(k, nil, "unknown key (known keys: "+strings.Join(sortedNames(known), ", ")+")")
		}
		v, expanded, err := expandEnv(raw[k])
		if err != nil {
			return fail(k, nil, err.Error())
		}
		clean[k] = v
		fromEnv[k] = expanded
	}
	if err := decodeInto(clean, dst); err != nil {
		return fail(explainDecodeError(err, clean, rv.Elem().Type()))
	}
	return nil
}

// explainDecodeError finds the value of clean that makes decoding into t
// fail, and returns its full dotted path (such as "circuit.cooldown" or
// "headers.X-Bad"), the value alone and what is wrong with it. When no
// single value is at fault it returns the decoder's message.
func explainDecodeError(err error, clean map[string]any, t reflect.Type) (key string, value any, reason string) {
	leaf, ok := findBadLeaf("", clean, t)
	if !ok {
		return "", nil, strings.TrimPrefix(err.Error(), "json: ")
	}
	if leaf.unknown {
		return leaf.path, nil, "unknown key (known keys: " + strings.Join(leaf.known, ", ") + ")"
	}
	if lerr := decodeValue(leaf.value, leaf.typ); lerr != nil {
		err = lerr
	}
	var typeErr *json.UnmarshalTypeError
	var durErr *durationError
	switch {
	case errors.As(err, &typeErr):
		return leaf.path, leaf.value, "wants " + describeType(typeErr.Type)
	case errors.As(err, &durErr):
		return leaf.path, leaf.value, durErr.reason
	}
	return leaf.path, nil, strings.TrimPrefix(err.Error(), "json: ")
}

// decodeInto decodes m into dst through JSON, refusing unknown fields at
// every depth.
func decodeInto(m map[string]any, dst any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cannot encode configuration: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

func describeType(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(Duration(0)):
		return "a duration such as 30s"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Map, t.Kind() == reflect.Struct, t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		return "a map"
	}
	return t.String()
}

var envRef = regexp.MustCompile(`\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandString replaces each ${NAME} in s with the environment's value and
// calls found with each value it put in. An unset NAME is an error.
func expandString(s string, found func(value string)) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		if ref == "$${" {
			return "${"
		}
		name := ref[2 : len(ref)-1]
		val, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		if found != nil {
			found(val)
		}
		return val
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set", missing)
	}
	return out, nil
}

// expandEnv replaces ${NAME} in the strings of v (recursively through lists
// and maps) with the environment's value, and reports whether it replaced
// any.
func expandEnv(v any) (out any, expanded bool, err error) {
	switch v := v.(type) {
	case string:
		s, err := expandString(v, func(string) { expanded = true })
		return s, expanded, err
	case []any:
		list := make([]any, len(v))
		for i, e := range v {
			x, exp, err := expandEnv(e)
			if err != nil {
				return nil, false, err
			}
			list[i], expanded = x, expanded || exp
		}
		return list, expanded, nil
	case map[string]any, map[any]any:
		m := make(map[string]any)
		for k, e := range stringKeyed(v) {
			x, exp, err := expandEnv(e)
			if err != nil {
				return nil, false, err
			}
			m[k], expanded = x, expanded || exp
		}
		return m, expanded, nil
	}
	return v, false, nil
}

// stringKeyed returns m as a map[string]any: m is one already, or a
// mapping as YAML libraries of the v2 era decode them (map[any]any).
func stringKeyed(m any) map[string]any {
	switch m := m.(type) {
	case map[string]any:
		return m
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out
	}
	return nil
}

// ResolveSecret returns the secret configured under key in one of three ways:
// inline (key), from an environment variable (key_env) or from a file
// (key_file, with one trailing newline removed). At most one may be set; an
// unset variable, an empty value or an unreadable file is an error that names
// the key and the variable or path, never the secret. It returns "" when none
// of the three is set; a factory that requires the secret reports that.
func ResolveSecret(kind, name, key, inline, env, file string) (string, error) {
	fail := func(k string, value any, reason string) error {
		return &ConfigError{Kind: kind, Sink: name, Key: k, Value: value, Reason: reason}
	}
	set := 0
	for _, s := range []string{inline, env, file} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		return "", fail(key, nil, fmt.Sprintf("set only one of %s, %s_env and %s_file", key, key, key))
	}
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fail(key+"_env", env, "environment variable is not set or empty")
		}
		return v, nil
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			reason := err
			if cause := errors.Unwrap(err); cause != nil {
				reason = cause
			}
			return "", fail(key+"_file", file, "cannot read: "+reason.Error())
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		if v == "" {
			return "", fail(key+"_file", file, "file is empty")
		}
		return v, nil
	}
	return inline, nil
}

// Duration is a time.Duration that decodes from Go's duration syntax
// ("500ms", "1m30s") in JSON and YAML configuration. A bare number is
// refused (it would be ambiguous between seconds and nanoseconds), except 0.
type Duration time.Duration

type durationError struct {
	value  string
	reason string
}

func (e *durationError) Error() string { return e.reason }

// UnmarshalJSON accepts a duration string, or the number 0.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "0" {
		*d = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &durationError{value: string(b), reason: "wants a duration such as 30s, with a unit"}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &durationError{value: s, reason: "wants a duration such as 30s"}
	}
	if v < 0 {
		return &durationError{value: s, reason: "must not be negative"}
	}
	*d = Duration(v)
	return nil
}

// UnmarshalText accepts a duration string such as "30s" (or "0"), so that
// YAML and flag decoders that use encoding.TextUnmarshaler read a Duration
// like JSON does.
func (d *Duration) UnmarshalText(b []byte) error {
	if string(b) == "0" {
		*d = 0
		return nil
	}
	q, err := json.Marshal(string(b))
	if err != nil {
		return err
	}
	return d.UnmarshalJSON(q)
}

// MarshalJSON writes the duration as a string such as "30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// String formats the duration like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }
