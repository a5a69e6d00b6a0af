// Package slack is a sink that posts messages to a Slack incoming webhook.
//
// Importing the package registers the "slack" kind with
// sinks.RegisterFactory. Its configuration keys are:
//
//	webhook_url   the incoming webhook's URL (required), or webhook_url_env /
//	              webhook_url_file; https (http only for a loopback host)
//	timeout       per request, default 10s
//
// A message becomes {"text": ...}: the Subject in bold, then the Body as
// mrkdwn. The characters &, < and > of both are escaped, so user text cannot
// mention <!channel> or forge a link. When the message has Metadata, the
// request also carries blocks: the same text, then a context line with the
// metadata.
//
// The webhook URL is a secret (anyone holding it can post to the channel):
// it never appears in an error, and so never in a DLQ item, a log line or
// the console. Slack takes no per-call recipient: Send wants a nil one.
//
// A 2xx response is success. 429 is transient and its Retry-After is passed
// on to the Retrier; 5xx, timeouts and network failures are transient;
// other statuses are terminal and carry Slack's error text (such as
// "invalid_payload" or "channel_is_archived"). Redirects are not followed.
package slack
