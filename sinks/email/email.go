package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/endpoint"
)

// Kind is the kind this package registers with sinks.RegisterFactory.
const Kind = "email"

// DefaultTimeout bounds the dial and the SMTP transaction when
// Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// TLSMode says how the connection to the SMTP server is encrypted.
type TLSMode string

// The TLS modes.
const (
	// TLSStartTLS upgrades the connection with STARTTLS and fails when the
	// server does not offer it. It is the default.
	TLSStartTLS TLSMode = "starttls"
	// TLSOpportunistic upgrades with STARTTLS when the server offers it and
	// goes on in clear text otherwise. A certificate that fails
	// verification is still an error, and AUTH is refused in clear text
	// except to a loopback host.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone never encrypts: for a relay on the same host or network.
	TLSNone TLSMode = "none"
)

// Config configures a Sink.
type Config struct {
	// Addr is the SMTP server's host:port (required).
	Addr string
	// From is the sender, with an optional display name (required).
	From string
	// To is the configured recipient: a Send without a recipient (or with
	// one that names no address) goes to these addresses, and a per-call
	// Recipient may always name them.
	To []string
	// AllowRecipientDomains lists the domains that the addresses of a
	// per-call Recipient may be in: an exact match, without subdomains,
	// case-insensitive, an internationalized domain matching in Unicode or
	// punycode form alike. An address literal never matches. Empty refuses
	// every per-call address that is not in To, unless AllowAnyRecipient.
	AllowRecipientDomains []string
	// AllowAnyRecipient lets a per-call Recipient name any address, so any
	// caller of Send can mail anyone from From: for trusted callers only.
	AllowAnyRecipient bool
	// Username and Password enable AUTH (PLAIN, or LOGIN when the server
	// offers only that). Both or neither.
	Username string
	Password string
	// TLS is the encryption mode; "" means TLSStartTLS.
	TLS TLSMode
	// Timeout bounds the dial and the whole transaction; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// TLSConfig verifies the server (root CAs, minimum version). nil means
	// the system's roots; ServerName defaults to Addr's host.
	TLSConfig *tls.Config
}

// Sink sends messages by SMTP, one connection per message. It is safe for
// concurrent use.
type Sink struct {
	name      string
	addr      string
	host      string
	port      int
	from      *mail.Address
	domain    string
	username  string
	password  string
	mode      TLSMode
	timeout   time.Duration
	tlsConfig *tls.Config
	to        []string // Config.To
	policy    recipientPolicy
}

var _ sinks.RecipientDecoder = (*Sink)(nil)

// New returns an email sink called name. A bad configuration is a
// *sinks.ConfigError that names the key and never shows the password.
func New(name string, cfg Config) (*Sink, error) {
	fail := func(key string, value any, reason string) error {
		return &sinks.ConfigError{Kind: Kind, Sink: name, Key: key, Value: value, Reason: reason}
	}
	if cfg.Addr == "" {
		return nil, fail("addr", nil, "is required")
	}
	host, portText, err := net.SplitHostPort(cfg.Addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || host == "" || perr != nil || port < 1 || port > 65535 {
		return nil, fail("addr", cfg.Addr, "want host:port, such as smtp.example.com:587")
	}
	if cfg.From == "" {
		return nil, fail("from", nil, "is required")
	}
	if hasLineBreak(cfg.From) {
		return nil, fail("from", cfg.From, "contains a line break")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fail("from", cfg.From, "want an address such as \"Alerts <alerts@example.com>\": "+err.Error())
	}
	mode := cfg.TLS
	switch mode {
	case "":
		mode = TLSStartTLS
	case TLSStartTLS, TLSOpportunistic, TLSImplicit, TLSNone:
	default:
		return nil, fail("tls", string(cfg.TLS), "want starttls, opportunistic, implicit or none")
	}
	switch {
	case cfg.Username == "" && cfg.Password != "":
		return nil, fail("username", nil, "is required with a password")
	case cfg.Username != "" && cfg.Password == "":
		return nil, fail("password", nil, "is required with a username")
	case hasLineBreak(cfg.Username):
		return nil, fail("username", nil, "contains a line break")
	case cfg.Password != "" && mode == TLSNone && !endpoint.IsLoopback(host):
		return nil, fail("password", nil, "would cross the network in clear text with tls: none; use starttls or implicit")
	}
	s := &Sink{
		name:     name,
		addr:     cfg.Addr,
		host:     host,
		port:     port,
		from:     from,
		domain:   from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		username: cfg.Username,
		password: cfg.Password,
		mode:     mode,
		timeout:  cfg.Timeout,
	}
	if err := s.setRecipients(cfg, fail); err != nil {
		return nil, err
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if cfg.TLSConfig != nil {
		s.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = host
	}
	if s.tlsConfig.MinVersion == 0 {
		s.tlsConfig.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

// Name returns the name the sink was built with.
func (s *Sink) Name() string { return s.name }

// String describes the sink by its name and server, so that printing a
// Sink, with %v, %+v or %#v, cannot reveal its password.
func (s *Sink) String() string {
	return fmt.Sprintf("email sink %q (%s, tls %s)", s.name, s.addr, s.mode)
}

// GoString is String.
func (s *Sink) GoString() string { return s.String() }

// Send sends m to the recipient over a new SMTP connection. to is a
// Recipient (or *Recipient, or the json.RawMessage a DLQ stored); nil, or
// one without an address, means Config.To. The message, and each address
// of a per-call Recipient against the configured policy, is checked before
// any connection is made; the error says whether a retry may help (see the
// package doc).
func (s *Sink) Send(ctx context.Context, to sinks.Recipient, m sinks.Message) error {
	rcpt, err := s.recipientOf(to)
	if err != nil {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "email.Send", "sink %q: %w", s.name, err))
	}
	policy := &s.policy
	if rcpt.empty() && len(s.to) > 0 {
		rcpt, policy = Recipient{To: s.to}, nil
	}
	msg, err := s.buildMessage(rcpt, policy, m, sinks.DeliveryID(ctx), time.Now())
	if err != nil {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidArgument, "email.Send", "sink %q: %w", s.name, err))
	}

	// The transaction's deadline closes the connection, which stops the
	// library wherever it waits; so does the caller's cancellation.
	txCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn := &connCloser{}
	stop := context.AfterFunc(txCtx, conn.close)
	defer stop()

	client, err := gomail.NewClient(s.host, s.clientOptions(conn)...)
	if err != nil {
		return sinks.Terminal(sinks.Errorf(sinks.CodeInvalidConfig, "email.Send", "sink %q: %w", s.name, err))
	}
	err = client.DialAndSendWithContext(txCtx, msg)
	if msg.IsDelivered() {
		// The server accepted the message; a failure after that (QUIT)
		// must not make a Retrier send it twice.
		return nil
	}
	if err == nil {
		return nil
	}
	return sinks.Errorf(sinks.CodeSinkUnavailable, "email.Send", "sink %q: %s: %w", s.name, s.addr, classify(ctx, txCtx, s.timeout, err))
}

func (s *Sink) clientOptions(conn *connCloser) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tlsConfig),
		gomail.WithDialContextFunc(s.dialer(conn)),
		// One connection per message: no NOOP before, no RSET after.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch s.mode {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	opts = append(opts, gomail.WithPort(s.port))
	if s.username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(newAuth(s.username, s.password, s.host)))
	}
	return opts
}
