// Package fielderr renders the message of every error about one bad value in
// the module: a sink's configuration key (sinks.ConfigError), a key of the
// daemon's configuration file (the daemon's config.Error) and a field of a
// request or a flag (the daemon's relay.FieldError). Each keeps its own
// type, so callers still match it with errors.As; they share this rendering,
// so the three read alike and none can print a secret value by mistake:
//
//	config: dletter.yaml:3: key "dlq.backend": must be file, memory or redis (got "mysql")
//	sinks: sink "alerts" (webhook): key "secret": is too short (value not shown: ...)
//	field "since": wants a time such as 2026-01-02T15:04:05Z ... (got "yesterday")
//
// The value is quoted (a string as Go quotes it, so control characters
// never reach a terminal; a list, map or number as JSON), or withheld when
// it is secret.
package fielderr
