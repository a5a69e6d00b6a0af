package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3";
// otherwise the module version or the VCS revision is used.
var Version = ""

// versionInfo describes this build.
type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Go       string `json:"go"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: Version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Revision = s.Value
			}
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	return v
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of dletter",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := buildVersion()
			if g.output == "json" {
				return writeJSON(g.streams.Out, v)
			}
			rev := ""
			if v.Revision != "" {
				rev = " (" + v.Revision[:min(12, len(v.Revision))] + ")"
			}
			_, err := fmt.Fprintf(g.streams.Out, "dletter %s%s %s\n", v.Version, rev, v.Go)
			return err
		},
	}
}
