// Package email is a sink that sends messages by SMTP.
//
// Importing the package registers the "email" kind with
// sinks.RegisterFactory. Its configuration keys are:
//
//	addr      the SMTP server, host:port (required)
//	from      the sender, with an optional display name:
//	          "Alerts <alerts@example.com>" (required)
//	username  for AUTH PLAIN or LOGIN (whichever the server offers,
//	          PLAIN first)
//	password  or password_env / password_file
//	tls       starttls (the default: STARTTLS is required), opportunistic
//	          (STARTTLS when offered), implicit (TLS from the first byte,
//	          usually port 465) or none
//	timeout   bounds the dial and the whole SMTP transaction, default 30s
//
// Send takes a [Recipient] (To, Cc and Bcc lists). Each message has a Date,
// a Message-ID derived from the delivery id (sinks.DeliveryID), so that a
// retried message keeps its identity, an RFC 2047 encoded Subject, and a
// multipart/alternative body: the Body as HTML and a plain-text part
// derived from it. A Body without any HTML tag is taken as plain text and
// the HTML part is derived from it instead. Metadata becomes X- headers
// ("team" becomes X-Team).
//
// A CR or LF in the subject, an address or a metadata header, and a
// metadata key that is not a header name, are refused before any
// connection is made, with a terminal error: no header injection.
//
// Errors are classified for a sinks.Retrier: an SMTP reply of 4xx is
// transient and 5xx terminal (see [ReplyError]); connection failures and
// timeouts are transient; TLS certificate failures and a server that does
// not offer a required STARTTLS are terminal.
package email
