package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
)

// hostKeys are the secrets that sign the requests to per-call URLs on one
// host (and port, when port is set).
type hostKeys struct {
	host, port string
	keys       [][]byte
}

// parseRecipientSecrets checks and decodes Config.RecipientSecrets: each
// host a plain host or host:port that allow permits, each value whsec_
// secrets. A bad entry is reported with fail.
func parseRecipientSecrets(m map[string]string, allow []hostRule, fail func(key string, value any, reason string) error) ([]hostKeys, error) {
	hosts := make([]string, 0, len(m))
	for h := range m {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	out := make([]hostKeys, 0, len(m))
	for _, h := range hosts {
		key := "recipient_secrets[" + h + "]"
		r, err := parseHostRule(h)
		if err != nil || r.wildcard {
			return nil, fail(key, nil, "want a host such as hooks.partner.example or hooks.partner.example:8443")
		}
		if !allowsHost(allow, r) {
			return nil, fail(key, nil, "the host is not in allow_recipient_hosts")
		}
		keys, err := ParseSecrets(m[h])
		if err != nil {
			return nil, fail(key, nil, err.Error())
		}
		out = append(out, hostKeys{host: r.host, port: r.port, keys: keys})
	}
	return out, nil
}

// allowsHost reports whether some rule of allow lets per-call URLs reach
// the host (and port) of r.
func allowsHost(allow []hostRule, r hostRule) bool {
	for _, a := range allow {
		if a.matchHost(r.host) && (a.port == "" || r.port == "" || a.port == r.port) {
			return true
		}
	}
	return false
}

// recipientKeysFor returns the secrets for a per-call URL: those of its
// host and port, else those of its host; nil when it has none.
func (s *Sink) recipientKeysFor(u *url.URL) [][]byte {
	host, port := strings.ToLower(u.Hostname()), effectivePort(u)
	var any [][]byte
	for _, hk := range s.recipientKeys {
		switch {
		case hk.host != host:
		case hk.port == port:
			return hk.keys
		case hk.port == "":
			any = hk.keys
		}
	}
	return any
}

// secretSource is one value of recipient_secrets in a configuration
// block: the secret itself (a string, in which ${NAME} is expanded), or a
// map with one of secret, secret_env and secret_file, as the sink's own
// secret takes them.
type secretSource struct {
	Secret     string `json:"secret"`
	SecretEnv  string `json:"secret_env"`
	SecretFile string `json:"secret_file"`
}

// UnmarshalJSON accepts a string or a map of the three keys. Its error
// never holds the value.
func (s *secretSource) UnmarshalJSON(b []byte) error {
	var inline string
	if json.Unmarshal(b, &inline) == nil {
		*s = secretSource{Secret: inline}
		return nil
	}
	type plain secretSource
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(&p) != nil {
		return errors.New("each value wants a whsec_ secret, or a map with one of secret, secret_env and secret_file")
	}
	*s = secretSource(p)
	return nil
}
