// Package webhook is a sink that POSTs each message as a JSON [Payload] to
// an HTTP endpoint, signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com) when a secret is configured.
//
// Importing the package registers the "webhook" kind with
// sinks.RegisterFactory. Its configuration keys are:
//
//	url                       the endpoint (required); http or https
//	headers                   extra request headers (a map) for url only; they
//	                          cannot set Content-Type, Host, Content-Length or
//	                          webhook-*
//	secret                    one or more whsec_ secrets, space-separated while
//	                          a key is rotated (or secret_env / secret_file);
//	                          signs the requests to url only
//	timeout                   per request, default 15s
//	allow_recipient_hosts     hosts a per-call Recipient URL may aim at; empty
//	                          (the default) refuses every per-call URL
//	recipient_secrets         per-call hosts' own secrets: a map from a host
//	                          (or host:port) to whsec_ secrets, each value a
//	                          string (${NAME} allowed) or a map with one of
//	                          secret, secret_env and secret_file
//	allow_private_recipients  let per-call URLs reach loopback, private and
//	                          link-local addresses (default false)
//
// A per-call URL is dialled only at a public address: whatever its allowed
// host name resolves to, an unspecified, loopback, private (RFC 1918),
// shared (100.64.0.0/10), link-local (169.254.0.0/16, where cloud metadata
// services answer; fe80::/10), unique-local (fc00::/7), multicast or
// reserved address, also in IPv4-mapped, NAT64 or 6to4 form, is refused
// as it is dialled, before any connection, with a terminal error. Per-call
// URLs then bypass a proxy from the environment. The configured url is the
// operator's own and may point anywhere.
//
// A request to a per-call URL never carries the configured headers nor a
// signature made with the configured secret, which are url's credentials:
// it is signed with its host's recipient_secrets entry, or sent unsigned
// when the host has none (see Config.RecipientSecrets for why unsigned
// rather than refused).
//
// The request body is a [Payload]:
//
//	{"id":"<delivery id>","subject":"order paid","body":{"order":1042},"metadata":{"shop":"eu"}}
//
// where body is the message's Body itself when it is valid JSON, and a JSON
// string otherwise.
//
// Every request carries webhook-id (the message's delivery id from
// sinks.DeliveryID, or a digest of it when it holds characters a webhook-id
// may not; stable across retries and replays so that the receiver can
// deduplicate) and webhook-timestamp; with a secret for its destination it
// also carries webhook-signature, "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>" once per secret.
//
// A 2xx response is success. 408, 425, 429 and 5xx are transient (a
// Retry-After header is passed on to the Retrier); 410 is terminal and
// reported as "endpoint gone"; any other status, a redirect (never
// followed) and a TLS certificate failure are terminal. An error names the
// endpoint by its scheme and host only ("POST https://hooks.example.com: ..."):
// the path, the query and the user information, any of which may be the
// credential (many providers put the token in the path), never appear in an
// error, nor in the Sink's String.
//
// Signing, the status mapping, refusing redirects, redaction and the host
// allowlist are deliberate improvements on the original API's sink.
package webhook
