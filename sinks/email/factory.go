package email

import (
	"time"

	"github.com/dletter/dletter/sinks"
)

func init() { sinks.RegisterFactory(Kind, Factory) }

// fileConfig is the configuration block of an email sink.
type fileConfig struct {
	Addr         string         `json:"addr"`
	From         string         `json:"from"`
	To           addressList    `json:"to"`
	Username     string         `json:"username"`
	Password     string         `json:"password"`
	PasswordEnv  string         `json:"password_env"`
	PasswordFile string         `json:"password_file"`
	TLS          string         `json:"tls"`
	Timeout      sinks.Duration `json:"timeout"`

	AllowRecipientDomains []string `json:"allow_recipient_domains"`
	AllowAnyRecipient     bool     `json:"allow_any_recipient"`
}

// addressList is a list of addresses, or a single one, as in a Recipient.
type addressList []string

// UnmarshalJSON accepts a string or a list of strings.
func (l *addressList) UnmarshalJSON(b []byte) error {
	list, err := stringList(b)
	*l = list
	return err
}

// Factory builds an email sink from its configuration block (see the
// package doc for the keys). It is registered as kind "email".
func Factory(name string, raw map[string]any) (sinks.Sink, error) {
	var fc fileConfig
	if err := sinks.DecodeConfig(Kind, name, raw, &fc); err != nil {
		return nil, err
	}
	password, err := sinks.ResolveSecret(Kind, name, "password", fc.Password, fc.PasswordEnv, fc.PasswordFile)
	if err != nil {
		return nil, err
	}
	return New(name, Config{
		Addr:     fc.Addr,
		From:     fc.From,
		To:       fc.To,
		Username: fc.Username,
		Password: password,
		TLS:      TLSMode(fc.TLS),
		Timeout:  time.Duration(fc.Timeout),

		AllowRecipientDomains: fc.AllowRecipientDomains,
		AllowAnyRecipient:     fc.AllowAnyRecipient,
	})
}
