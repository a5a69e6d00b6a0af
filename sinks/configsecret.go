package sinks

import (
	"errors"
	"strings"
)

// secretWords are the words that make a configuration key a secret one.
var secretWords = []string{"url", "secret", "password", "passwd", "token", "key", "auth", "credential", "cookie", "headers"}

// IsSecretKey reports whether the configuration key key (such as "secret",
// "webhook_url" or "headers.Authorization") holds a secret, whose value is
// never shown: a key that mentions a URL (Slack's and many webhook
// providers' URLs are the credential), a secret, a password, a token, a key,
// authentication, a credential, a cookie, or the headers of a request. A key
// ending in _env or _file holds the name of a variable or a path, not the
// secret, and is not one.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	if strings.HasSuffix(k, "_env") || strings.HasSuffix(k, "_file") {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// topKey returns the block's key that a ConfigError key is under:
// "headers" for "headers.X-Token", "hosts" for "hosts[2]".
func topKey(key string) string {
	if i := strings.IndexAny(key, ".["); i >= 0 {
		return key[:i]
	}
	return key
}

// hideExpanded marks err, when it is a *ConfigError about sink name, as
// secret if the configuration key it names holds an expansion of ${NAME} in
// raw: a factory checks values after DecodeConfig expanded them, and cannot
// tell which came from the environment.
func hideExpanded(err error, name string, raw map[string]any) {
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Sink != name || ce.Value == nil {
		return
	}
	if v, ok := raw[topKey(ce.Key)]; ok && holdsExpansion(v) {
		ce.Value, ce.Secret = nil, true
	}
}

// holdsExpansion reports whether a string in v (through lists and maps)
// holds a ${NAME} reference.
func holdsExpansion(v any) bool {
	switch v := v.(type) {
	case string:
		for _, m := range envRef.FindAllString(v, -1) {
			if m != "$${" {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if holdsExpansion(e) {
				return true
			}
		}
	case map[string]any, map[any]any:
		for _, e := range stringKeyed(v) {
			if holdsExpansion(e) {
				return true
			}
		}
	}
	return false
}
