package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dletter/dletter/cmd/dletter/internal/client"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// backend is a DLQ as the operator's commands see it: local (a Core over a
// data directory or Redis) or remote (a running daemon).
type backend interface {
	Overview(ctx context.Context) (sinks.Stats, []relay.SinkCount, error)
	// List returns whole items (export); ListPreviews cuts bodies (ls).
	List(ctx context.Context, f sinks.Filter, cursor string, limit int) ([]sinks.DLQItem, string, error)
	ListPreviews(ctx context.Context, f sinks.Filter, cursor string, limit int) ([]sinks.ItemPreview, string, error)
	Get(ctx context.Context, id string) (sinks.DLQItem, error)
	Count(ctx context.Context, sink string) (int, error)
	Redeliver(ctx context.Context, a relay.Actor, id string, keep bool) (relay.RedeliverResult, error)
	Discard(ctx context.Context, a relay.Actor, id string) error
	DiscardMatching(ctx context.Context, a relay.Actor, f sinks.Filter, max int, all, dryRun bool) (n, busy int, err error)
	DryRunRedrive(ctx context.Context, opts relay.RedriveOptions) (int, error)
	StartRedrive(ctx context.Context, a relay.Actor, opts relay.RedriveOptions) (relay.Redrive, error)
	GetRedrive(ctx context.Context, id string) (relay.Redrive, error)
	CancelRedrive(ctx context.Context, a relay.Actor, id string) (relay.Redrive, error)
	// Import adds the items of JSON lines read from src (see relay.Relay.Import).
	Import(ctx context.Context, a relay.Actor, from string, src io.Reader) (int, error)
	Close() error
}

// local is a backend over a Core opened in this process.
type local struct {
	*relay.Relay
	core *daemon.Core
	cfg  *config.Config
}

// Redeliver refuses an item whose sink is not configured (the command was
// run without the daemon's --config): nothing is sent, and the item stays
// as it was.
func (l local) Redeliver(ctx context.Context, a relay.Actor, id string, keep bool) (relay.RedeliverResult, error) {
	it, err := l.Relay.Get(ctx, id)
	if err != nil {
		return relay.RedeliverResult{}, err
	}
	if _, ok := l.cfg.Sinks[it.Sink]; !ok {
		return relay.RedeliverResult{}, usageErrorf("item %s: sink %q is not configured here, so nothing was sent: pass --config with the daemon's configuration, or --dlq http://HOST:PORT to replay through the daemon",
			id, it.Sink)
	}
	return l.Relay.Redeliver(ctx, a, id, keep)
}

func (l local) StartRedrive(_ context.Context, a relay.Actor, opts relay.RedriveOptions) (relay.Redrive, error) {
	return l.Relay.StartRedrive(a, opts)
}

func (l local) GetRedrive(_ context.Context, id string) (relay.Redrive, error) {
	return l.Relay.GetRedrive(id)
}

func (l local) Close() error { return l.core.Close() }

// remote is a backend over a daemon's API.
type remote struct{ *client.Client }

func (remote) Close() error { return nil }

// tokenFromEnv reads the daemon's token from --token-file or $DLETTER_TOKEN.
func tokenFromEnv(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErrorf("--token-file: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(os.Getenv("DLETTER_TOKEN")), nil
}

// newDaemonClient is a client of the daemon at target, with the token of
// tokenFile or $DLETTER_TOKEN, trusting the CA certificates of caFile
// (when not "") for an https:// daemon.
func newDaemonClient(target, tokenFile, caFile string) (*client.Client, error) {
	tok, err := tokenFromEnv(tokenFile)
	if err != nil {
		return nil, err
	}
	var opts []client.Option
	if caFile != "" {
		if !strings.HasPrefix(target, "https://") {
			return nil, usageErrorf("--ca-file is for an https:// daemon, not %s", target)
		}
		pool, err := client.LoadCAFile(caFile)
		if err != nil {
			return nil, usageErrorf("--ca-file: %w", err)
		}
		opts = append(opts, client.WithRootCAs(pool))
	}
	c, err := client.New(target, tok, cliActor().Name, opts...)
	if err != nil {
		return nil, usageError(err)
	}
	return c, nil
}

// openBackend opens the DLQ that --dlq, $DLETTER_DLQ or --config names.
func openBackend(ctx context.Context, g *globals, df *dlqFlags) (backend, error) {
	target := df.target
	if target == "" {
		target = os.Getenv("DLETTER_DLQ")
	}
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		c, err := newDaemonClient(target, df.tokenFile, df.caFile)
		if err != nil {
			return nil, err
		}
		return remote{c}, nil
	}
	if df.caFile != "" {
		return nil, usageErrorf("--ca-file is for an https:// daemon, not the DLQ %q", target)
	}
	cfg, err := loadConfig(df.config)
	if err != nil {
		return nil, err
	}
	if target != "" {
		if err := applyTarget(cfg, target); err != nil {
			return nil, err
		}
	}
	if cfg.DLQ.Backend == config.BackendFile && !df.create {
		// A mistyped directory must not look like an empty DLQ (nor be
		// created): only import fills a new one.
		if err := mustExist(daemon.FileDLQDir(cfg.DataDir)); err != nil {
			return nil, fmt.Errorf("no file DLQ in %s: %w (is the data directory right? 'dletter serve' and 'dlq import' create one)", cfg.DataDir, err)
		}
	}
	opts := daemon.Options{Logger: quietLogger(g.streams.Err)}
	if cfg.DLQ.Backend == config.BackendRedis {
		// No data directory of ours: keep the audit trail in the user's state directory.
		opts.AuditFile = filepath.Join(stateDir(), "dletter", "audit.log")
	}
	core, err := daemon.Open(cfg, opts)
	if err != nil {
		if errors.Is(err, sinks.ErrLocked) {
			// Only a configuration says where the daemon listens: without
			// one, the default address would be a guess.
			addr := "HOST:PORT (the address 'dletter serve' printed when it started)"
			if df.config != "" {
				addr = cfg.Listen + " (the listen address of " + df.config + ")"
			}
			return nil, fmt.Errorf("%w\n(is 'dletter serve' running on this data directory? then use --dlq http://%s)", err, addr)
		}
		return nil, err
	}
	return local{Relay: core.Relay, core: core, cfg: cfg}, nil
}

// mustExist is nil when path exists; otherwise an error that says so
// plainly (and wraps fs.ErrNotExist) or the stat error.
func mustExist(path string) error {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist: %w", path, fs.ErrNotExist)
	}
	return err
}

// stateDir is $XDG_STATE_HOME, or ~/.local/state.
func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state")
	}
	return os.TempDir()
}

// loadConfig loads path, or returns the defaults when path is "".
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// applyTarget points cfg's DLQ at target: file:DIR or redis://HOST:PORT/DB?prefix=P&max_len=N.
func applyTarget(cfg *config.Config, target string) error {
	shown := target // never echo a password given in the URL
	if scheme, rest, ok := strings.Cut(target, "://"); ok {
		if at := strings.Index(rest, "@"); at >= 0 && !strings.ContainsAny(rest[:at], "/?") {
			shown = scheme + "://REDACTED@" + rest[at+1:]
		}
	}
	bad := func(reason string) error {
		return usageErrorf("--dlq %q: %s (want file:DIR, redis://HOST:PORT/DB?prefix=P or http://HOST:PORT)", shown, reason)
	}
	switch {
	case strings.HasPrefix(target, "file:"):
		dir := strings.TrimPrefix(strings.TrimPrefix(target, "file:"), "//")
		if dir == "" {
			return bad("no directory")
		}
		cfg.DataDir, cfg.DLQ = dir, config.DLQ{Backend: config.BackendFile}
		cfg.SetByFlag("data_dir", "--dlq")
		cfg.SetByFlag("dlq", "--dlq")
	case strings.HasPrefix(target, "redis://"):
		// The host part may list several addresses (a Cluster), which
		// url.Parse refuses: take it apart first.
		rest := strings.TrimPrefix(target, "redis://")
		hosts := rest
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			hosts, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		u, err := url.Parse("redis://placeholder" + rest)
		if err != nil || hosts == "" {
			return bad("no host:port")
		}
		if strings.Contains(hosts, "@") {
			u.User = url.User("") // refused below
		}
		d := config.DLQ{Backend: config.BackendRedis, Addrs: strings.Split(hosts, ","), Prefix: u.Query().Get("prefix")}
		if u.User != nil {
			// The password is never written on a command line: name a variable.
			return bad("put the password in $DLETTER_REDIS_PASSWORD, not in the URL")
		}
		if os.Getenv("DLETTER_REDIS_PASSWORD") != "" {
			d.PasswordEnv = "DLETTER_REDIS_PASSWORD"
		}
		if db := strings.Trim(u.Path, "/"); db != "" {
			if d.DB, err = strconv.Atoi(db); err != nil {
				return bad("the database must be a number")
			}
		}
		if ml := u.Query().Get("max_len"); ml != "" {
			if d.MaxLen, err = strconv.ParseInt(ml, 10, 64); err != nil {
				return bad("max_len must be a number")
			}
		}
		cfg.DLQ = d
		cfg.SetByFlag("dlq", "--dlq")
	default:
		return bad("unknown scheme")
	}
	return cfg.Validate()
}

// quietLogger logs warnings and errors of the commands to w.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
