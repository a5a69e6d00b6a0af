// Package console is the daemon's web console: server-rendered pages
// (html/template, so every payload is escaped) with their stylesheet
// embedded in the binary; nothing is loaded from the internet and no
// JavaScript is needed. Forms that change state carry a CSRF token.
package console

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the console.
type Options struct {
	Relay  *relay.Relay
	Auth   *auth.Authenticator
	Logger *slog.Logger
	// Timeline feeds the overview's charts with the daemon's deliveries
	// and dead letters since it started; nil draws them from the DLQ alone.
	Timeline *metrics.Timeline
}

// Console serves the pages.
type Console struct {
	relay    *relay.Relay
	auth     *auth.Authenticator
	log      *slog.Logger
	timeline *metrics.Timeline
	pages    map[string]*template.Template
	before   beforeStart
}

// New parses the templates (they are embedded, so a failure is a bug).
func New(o Options) *Console {
	c := &Console{relay: o.Relay, auth: o.Auth, log: o.Logger, timeline: o.Timeline}
	if c.auth == nil {
		c.auth = auth.New("")
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pages = parsePages()
	return c
}

func parsePages() map[string]*template.Template {
	names := []string{"overview", "items", "item", "confirm", "redrive", "redrives", "job", "activity", "login", "error"}
	pages := make(map[string]*template.Template, len(names))
	for _, n := range names {
		t := template.New("layout.html").Funcs(funcs)
		pages[n] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html"))
	}
	return pages
}

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", c.overview)
	mux.HandleFunc("GET /items", c.items)
	mux.HandleFunc("GET /items/{id}", c.item)
	mux.HandleFunc("POST /items/{id}/replay", c.replay)
	mux.HandleFunc("GET /items/{id}/discard", c.confirmDiscardItem)
	mux.HandleFunc("POST /items/{id}/discard", c.discardItem)
	mux.HandleFunc("GET /discard", c.confirmDiscard)
	mux.HandleFunc("POST /discard", c.discard)
	mux.HandleFunc("GET /redrive", c.redriveForm)
	mux.HandleFunc("POST /redrive", c.startRedrive)
	mux.HandleFunc("GET /redrives", c.redrives)
	mux.HandleFunc("GET /redrives/{id}", c.redrive)
	mux.HandleFunc("POST /redrives/{id}/cancel", c.cancelRedrive)
	mux.HandleFunc("GET /activity", c.activity)
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age="+itoa(int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// page is what every template receives.
type page struct {
	Title    string
	Nav      string // the highlighted menu entry
	CSRF     string
	ReadOnly bool
	AuthOn   bool
	// In is false only when a token is required and this request has
	// none: the layout then offers nothing but the login form.
	In       bool
	Actor    string
	Flash    string
	FlashBad bool
	Data     any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.CSRF = c.csrfToken(w, r)
	p.ReadOnly = c.relay.ReadOnly()
	p.AuthOn = c.auth.Enabled()
	p.In = !p.AuthOn || c.auth.Check(r)
	p.Actor = actorName(r)
	if p.Flash == "" {
		p.Flash, p.FlashBad = flashText(r.URL.Query().Get("flash"))
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Data: map[string]any{"Status": status, "Message": msg}})
}

// fail shows err with the status the API would use.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := api.StatusOf(err)
	if status >= 500 {
		c.log.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	msg := err.Error()
	if errors.Is(err, relay.ErrReadOnly) {
		msg = "This daemon runs in read-only mode: replay, redrive and discard are disabled."
	}
	c.errorPage(w, r, status, msg)
}

// actorCookie remembers the name an operator gave at login.
const actorCookie = "dletter_actor"

func actorName(r *http.Request) string {
	if ck, err := r.Cookie(actorCookie); err == nil {
		if n := api.CleanName(ck.Value); n != "" {
			return n
		}
	}
	return ""
}

func (c *Console) actor(r *http.Request) relay.Actor {
	name := actorName(r)
	if name == "" {
		name = "console"
	}
	return relay.Actor{Name: name, Via: "console", Remote: api.RemoteHost(r)}
}

var flashes = map[string]struct {
	text string
	bad  bool
}{
	"replayed":            {"Delivered. The item was removed from the dead-letter queue.", false},
	"replay-failed":       {"The replay failed again. The item stays in the queue; its latest error is shown below.", true},
	"discarded":           {"Discarded.", false},
	"bulk-discarded":      {"The matching items were discarded.", false},
	"bulk-discarded-busy": {"The matching items were discarded, except those someone else is replaying, redriving or discarding: they are left in place (see Activity).", true},
	"redrive-started":     {"Redrive started. This page refreshes until it is done.", false},
	"cancelled":           {"Redrive cancelled. Items not yet replayed stay in the queue.", false},
	"logged-out":          {"Logged out.", false},
}

func flashText(key string) (string, bool) {
	f, ok := flashes[key]
	if !ok {
		return "", false
	}
	return f.text, f.bad
}
