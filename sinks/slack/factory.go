package slack

import (
	"time"

	"github.com/dletter/dletter/sinks"
)

func init() { sinks.RegisterFactory(Kind, Factory) }

// fileConfig is the configuration block of a Slack sink.
type fileConfig struct {
	WebhookURL     string         `json:"webhook_url"`
	WebhookURLEnv  string         `json:"webhook_url_env"`
	WebhookURLFile string         `json:"webhook_url_file"`
	Timeout        sinks.Duration `json:"timeout"`
}

// Factory builds a Slack sink from its configuration block (see the package
// doc for the keys). It is registered as kind "slack".
func Factory(name string, raw map[string]any) (sinks.Sink, error) {
	var fc fileConfig
	if err := sinks.DecodeConfig(Kind, name, raw, &fc); err != nil {
		return nil, err
	}
	u, err := sinks.ResolveSecret(Kind, name, "webhook_url", fc.WebhookURL, fc.WebhookURLEnv, fc.WebhookURLFile)
	if err != nil {
		return nil, err
	}
	return New(name, Config{WebhookURL: u, Timeout: time.Duration(fc.Timeout)})
}
