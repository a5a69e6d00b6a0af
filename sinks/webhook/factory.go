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
	// RecipientSecrets maps a host to its secret, in any of the forms
	// that secret takes.
	RecipientSecrets       map[string]secretSource `json:"recipient_secrets"`
	AllowPrivateRecipients bool                    `json:"allow_private_recipients"`
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
	var perHost map[string]string
	for _, host := range sortedKeys(fc.RecipientSecrets) {
		src := fc.RecipientSecrets[host]
		v, err := sinks.ResolveSecret(Kind, name, "recipient_secrets["+host+"].secret", src.Secret, src.SecretEnv, src.SecretFile)
		if err != nil {
			return nil, err
		}
		if perHost == nil {
			perHost = make(map[string]string, len(fc.RecipientSecrets))
		}
		perHost[host] = v
	}
	return New(name, Config{
		URL:                 fc.URL,
		Headers:             fc.Headers,
		Secret:              secret,
		Timeout:             time.Duration(fc.Timeout),
		AllowRecipientHosts: fc.AllowRecipientHosts,
		RecipientSecrets:    perHost,

		AllowPrivateRecipients: fc.AllowPrivateRecipients,
	})
}
