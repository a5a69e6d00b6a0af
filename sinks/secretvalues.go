package sinks

import (
	"net/url"
	"os"
	"sort"
	"strings"
)

// minSecretLen is the length below which SecretValues leaves a string out:
// scrubbing a short string from a text would blank out ordinary words.
const minSecretLen = 6

// SecretValues returns the strings of a sink's configuration block raw that
// must never appear in an error, a DLQ item, an API answer or a log line,
// longest first:
//
//   - the value of every secret key (see IsSecretKey; every value under a
//     secret key, such as headers, is one) after ${NAME} expansion, and for
//     a URL also its path, its query and its user information, where
//     providers put the credential;
//   - every value that a ${NAME} reference expanded to, whatever its key,
//     and the whole string it was expanded into;
//   - the value of the variable that a *_env key names, and the content of
//     the file that a *_file key names.
//
// Strings shorter than six bytes are left out. It is what an embedder uses
// to scrub the errors of the sinks it builds with BuildSink.
func SecretValues(raw map[string]any) []string {
	set := map[string]bool{}
	add := func(v string) {
		if len(v) >= minSecretLen {
			set[v] = true
		}
	}
	var walk func(key string, v any, secret bool)
	walk = func(key string, v any, secret bool) {
		switch v := v.(type) {
		case string:
			addString(key, v, secret, add)
		case []any:
			for _, e := range v {
				walk(key, e, secret)
			}
		case map[string]any, map[any]any:
			for k, e := range stringKeyed(v) {
				walk(k, e, secret || IsSecretKey(key))
			}
		}
	}
	for k, v := range raw {
		if k != "kind" {
			walk(k, v, false)
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// addString adds the secrets of the string v under key; secret says that
// v is under a secret key.
func addString(key, v string, secret bool, add func(string)) {
	expanded := false
	v, err := expandString(v, func(val string) { add(val); expanded = true })
	if err != nil {
		return
	}
	lk := strings.ToLower(key)
	switch {
	case strings.HasSuffix(lk, "_env"):
		add(os.Getenv(v))
		return
	case strings.HasSuffix(lk, "_file"):
		if b, err := os.ReadFile(v); err == nil {
			add(strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"))
			add(strings.TrimSpace(string(b)))
		}
		return
	}
	if !expanded && !secret && !IsSecretKey(key) {
		return
	}
	add(v)
	if !secret && !IsSecretKey(key) {
		return
	}
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		if len(u.Path) > 1 {
			add(u.Path)
		}
		add(u.RawQuery)
		if u.User != nil {
			add(u.User.String())
		}
	}
}
