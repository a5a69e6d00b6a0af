package dletter

import (
	"fmt"
	"log/slog"
	"time"
)

// Durability says what a nil error from Log (and every write Replay makes)
// promises about the item.
type Durability int

const (
	// SurvivesCrash, the default: the line was written to the file with
	// write(2) before Log returned, so it survives the process being killed
	// at any instant (SIGKILL, OOM, panic), though not a power loss.
	SurvivesCrash Durability = iota
	// SurvivesPowerLoss: the line was written and fdatasync'd before Log
	// returned, so it survives a power loss; concurrent Log calls share one
	// fdatasync (group commit).
	SurvivesPowerLoss
	// SyncedPeriodically: as SurvivesCrash, and the file is fdatasync'd in
	// the background every sync interval (WithSyncInterval, default 1s), so a
	// power loss loses at most about the last interval.
	SyncedPeriodically
)

// String returns the durability's name.
func (d Durability) String() string {
	switch d {
	case SurvivesCrash:
		return "survives-crash"
	case SurvivesPowerLoss:
		return "survives-power-loss"
	case SyncedPeriodically:
		return "synced-periodically"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// Option configures a Logger. Options are applied in order by New.
type Option func(*config)

type config struct {
	maxSizeMB    int
	maxBackups   int
	maxAgeDays   int
	compress     bool
	lossy        bool
	durability   Durability
	syncInterval time.Duration
	logger       *slog.Logger
	errs         []error
}

func defaultConfig() config {
	return config{
		maxSizeMB:  100,
		maxBackups: 5,
		maxAgeDays: 14,
		compress:   true,
	}
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("dletter: "+format, args...))
}

// WithMaxSize sets the size in megabytes at which the retry and permanent
// logs are rotated (default 100). Zero or less turns size rotation off.
func WithMaxSize(megabytes int) Option {
	return func(c *config) { c.maxSizeMB = megabytes }
}

// WithMaxBackups sets how many rotated files of each log to keep (default 5;
// 0 keeps all).
//
// Unlike go-dletter, which deleted the oldest backups whether or not their
// items had been replayed, this limit is enforced only with
// WithLossyRetention(true): by default a backup is deleted once Replay has
// consumed every item in it, and never before.
func WithMaxBackups(count int) Option {
	return func(c *config) {
		if count < 0 {
			c.invalid("WithMaxBackups: count %d is negative", count)
		}
		c.maxBackups = count
	}
}

// WithMaxAge sets how many days a rotated file is kept, judged by the time in
// its name (default 14; 0 keeps all). Like WithMaxBackups it is enforced
// only with WithLossyRetention(true).
func WithMaxAge(days int) Option {
	return func(c *config) {
		if days < 0 {
			c.invalid("WithMaxAge: days %d is negative", days)
		}
		c.maxAgeDays = days
	}
}

// WithCompress sets whether rotated files are gzip-compressed in the
// background (default true, as in go-dletter). Replay reads compressed and
// plain backups alike; compression never touches a file a Replay is reading.
func WithCompress(compress bool) Option {
	return func(c *config) { c.compress = compress }
}

// WithLossyRetention(true) lets WithMaxBackups and WithMaxAge delete rotated
// files that still hold items not yet replayed (or permanent failures), to
// bound the disk. Every item dropped this way is counted in Stats.Dropped and
// reported with a warning on the logger's slog.Logger. Off by default: no
// item is ever deleted before it was replayed.
func WithLossyRetention(enabled bool) Option {
	return func(c *config) { c.lossy = enabled }
}

// WithDurability sets what a nil error from Log promises; see Durability.
func WithDurability(d Durability) Option {
	return func(c *config) {
		if d < SurvivesCrash || d > SyncedPeriodically {
			c.invalid("WithDurability: unknown durability %d", int(d))
		}
		c.durability = d
	}
}

// WithSyncInterval sets the background fdatasync period of
// SyncedPeriodically (default 1s) and selects that durability.
func WithSyncInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithSyncInterval: interval %v is not positive", d)
		}
		c.durability = SyncedPeriodically
		c.syncInterval = d
	}
}

// WithLogger sets where the Logger reports what it does on its own: repaired
// files, quarantined lines, dropped items, failed background work (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
