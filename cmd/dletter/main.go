// Command dletter runs the dletter relay daemon (`dletter serve`) and the
// operator's commands on dead-letter queues and dletter logs. Run
// `dletter --help` for the list.
package main

import (
	"context"
	"os"

	"github.com/dletter/dletter/cmd/dletter/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background()))
}
