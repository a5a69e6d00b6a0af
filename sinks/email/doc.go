// Package email is a sink that sends messages by SMTP.
//
// Importing the package registers the "email" kind with
// sinks.RegisterFactory. Its configuration keys are:
//
//	addr                     the SMTP server, host:port (required)
//	from                     the sender, with an optional display name: "Alerts
//	                         <alerts@example.com>" (required)
//	username                 for AUTH PLAIN or LOGIN (whichever the server
//	                         offers, PLAIN first)
//	password                 or password_env / password_file
//	tls                      starttls (the default: STARTTLS is required),
//	                         opportunistic (STARTTLS when offered), implicit
//	                         (TLS from the first byte, usually port 465) or
//	                         none
//	timeout                  bounds the dial and the whole SMTP transaction,
//	                         default 30s
//	to                       the configured recipient, an address or a list:
//	                         a message without a recipient goes there, and a
//	                         per-call recipient may always name these
//	                         addresses
//	allow_recipient_domains  the domains a per-call recipient's addresses may
//	                         be in (exact, case-insensitive, Unicode and
//	                         punycode alike); without it, and without
//	                         allow_any_recipient, every per-call address not in
//	                         to is refused
//	allow_any_recipient      let a per-call recipient name any address (default
//	                         false): any caller of Send could then mail anyone
//	                         from from
//
// Send takes a [Recipient] (To, Cc and Bcc lists), or nil for to. A per-call
// address that the configuration does not allow refuses the whole message
// before any connection is made, with a terminal error that names the
// address's domain. Each message has a Date, a Message-ID derived from the
// delivery id (sinks.DeliveryID), so that a retried message keeps its
// identity (bytes that are not letters, digits, '-' or '_', and dots that
// would lead, trail or repeat, are written as "=XX", so the Message-ID
// parses under RFC 5322 and distinct ids never share one), an RFC 2047 encoded Subject, and a multipart/alternative body:
// the Body as HTML and a plain-text part derived from it. A Body without any
// HTML tag is taken as plain text and the HTML part is derived from it
// instead. Metadata becomes X- headers ("team" becomes X-Team).
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
