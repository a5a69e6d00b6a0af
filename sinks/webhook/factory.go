package webhook

import (
	"time"

	"github.com/dletter/dletter/sinks"
)

func init() { sinks.RegisterFactory(Kind, Factory) }

// fileConfig is the configuration block of a webhook sink.
type fileConfig struct {
	URL                 string            `json:"url"`
	Headers             map[string]string `json:"headers"`
	Secret              string            `json:"secret"`
	SecretEnv           string            `json:"secret_env"`
	SecretFile          string            `json:"secret_file"`
	Timeout             sinks.Duration    `json:"timeout"`
	AllowRecipientHosts []string          `json:"allow_recipient_hosts"`
}

// Factory builds a webhook sink from its configuration block (see the
// package doc for the keys). It is registered as kind "webhook".
func Factory(name string, raw map[string]any) (sinks.Sink, error) {
	var fc fileConfig
	if err := sinks.DecodeConfig(Kind, name, raw, &fc); err != nil {
		return nil, err
	}
	secret, err := sinks.ResolveSecret(Kind, name, "secret", fc.Secret, fc.SecretEnv, fc.SecretFile)
	if err != nil {
		return nil, err
	}
	return New(name, Config{
		URL:                 fc.URL,
		Headers:             fc.Headers,
		Secret:              secret,
		Timeout:             time.Duration(fc.Timeout),
		AllowRecipientHosts: fc.AllowRecipientHosts,
	})
}
