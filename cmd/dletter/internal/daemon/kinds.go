package daemon

// The sink kinds a configuration can name. Each package registers its
// factory when imported.
import (
	_ "github.com/dletter/dletter/sinks/email"
	_ "github.com/dletter/dletter/sinks/slack"
	_ "github.com/dletter/dletter/sinks/webhook"
)
