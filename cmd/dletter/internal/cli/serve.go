package cli

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
)

func newServeCmd(g *globals) *cobra.Command {
	var cfgPath, listen, dataDir, logFormat, tokenFile, tokenEnv, tlsCert, tlsKey string
	var readOnly bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the relay daemon: HTTP API, web console and metrics",
		Long: `Run the relay daemon. With no flags and no configuration it listens on
127.0.0.1:8080, keeps its data (a file DLQ, the async delivery log and the
audit log) in ./dletter-data, and prints the console's URL.

--config FILE loads sinks, retry, dlq and auth settings (see
examples/dletter.yaml); --listen and --data override the file. Listening on
an address other than loopback requires a token (auth.token_env or
auth.token_file), and should use TLS: --tls-cert and --tls-key (or the
file's tls block) serve HTTPS (TLS 1.2 or later), and SIGHUP reloads the
key pair from its files (a pair that fails to load is logged and the
current one kept). SIGINT or SIGTERM shut it down gracefully: intake stops,
deliveries in flight get --shutdown-grace, by default delivery.shutdown_timeout
(30s unless the file says otherwise), to finish (a synchronous one that
cannot parks its message in the DLQ and answers 202 dead_lettered with the
item's id; an async one stays queued for the next start); --shutdown-grace 0
cancels them at once, keeping what is queued; a second signal ends it at
once, losing nothing accepted.`,
		Example: `  dletter serve
  dletter serve --config /etc/dletter.yaml --listen 0.0.0.0:8443
  DLETTER_TOKEN=... dletter serve --listen 0.0.0.0:8443 --token-env DLETTER_TOKEN \
      --tls-cert /etc/dletter/cert.pem --tls-key /etc/dletter/key.pem`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 {
				return usageErrorf("--shutdown-grace %s: must not be negative (0 gives deliveries in flight no time at all)", grace)
			}
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				cfg.Listen = listen
				cfg.SetByFlag("listen", "--listen")
			}
			if cmd.Flags().Changed("data") {
				cfg.DataDir = dataDir
				cfg.SetByFlag("data_dir", "--data")
			}
			if readOnly {
				cfg.Auth.ReadOnly = true
			}
			if tokenFile != "" || tokenEnv != "" {
				cfg.Auth.TokenFile, cfg.Auth.TokenEnv = tokenFile, tokenEnv
				cfg.SetByFlag("auth.token_file", "--token-file")
				cfg.SetByFlag("auth.token_env", "--token-env")
			}
			if tlsCert != "" || tlsKey != "" {
				cfg.TLS = config.TLS{CertFile: tlsCert, KeyFile: tlsKey}
				cfg.SetByFlag("tls.cert_file", "--tls-cert")
				cfg.SetByFlag("tls.key_file", "--tls-key")
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			var h slog.Handler
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(g.streams.Err, nil)
			case "json":
				h = slog.NewJSONHandler(g.streams.Err, nil)
			default:
				return usageErrorf("--log-format: want text or json, got %q", logFormat)
			}
			log := slog.New(h)
			ctx, stop := shutdownContext(cmd.Context(), log)
			defer stop()
			switch {
			case !cmd.Flags().Changed("shutdown-grace"):
				grace = 0 // the configuration's delivery.shutdown_timeout
			case grace == 0:
				grace = daemon.NoGrace
			}
			opts := daemon.ServeOptions{Logger: log, Out: g.streams.Out, Grace: grace}
			if cfg.TLS.Enabled() {
				// SIGHUP reloads the key pair; without TLS it keeps its
				// default action.
				hup := make(chan os.Signal, 1)
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
				opts.Reload = hup
			}
			return daemon.Serve(ctx, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "configuration file (YAML)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "listen address, host:port (overrides the file's listen)")
	f.StringVar(&dataDir, "data", "./dletter-data", "data directory (overrides the file's data_dir)")
	f.BoolVar(&readOnly, "read-only", false, "refuse replay, redrive, discard and sends")
	f.StringVar(&tokenFile, "token-file", "", "file holding the bearer token (overrides the file's auth)")
	f.StringVar(&tokenEnv, "token-env", "", "environment variable holding the bearer token (overrides the file's auth)")
	f.StringVar(&tlsCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with (overrides the file's tls)")
	f.StringVar(&tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&logFormat, "log-format", "text", "log format on standard error: text or json")
	f.DurationVar(&grace, "shutdown-grace", 0, "how long in-flight deliveries may run after SIGINT/SIGTERM; 0 cancels them at once, keeping what is queued\n(default: the configuration's delivery.shutdown_timeout, 30s unless it says otherwise)")
	return cmd
}
