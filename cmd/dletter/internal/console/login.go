package console

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/auth"
)

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: map[string]any{"Next": localPath(r.URL.Query().Get("next"))}})
}

// login checks the token and sets the session cookie (derived from the
// token, never the token itself) and the name used in the audit log.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	next := localPath(r.PostFormValue("next"))
	name := api.CleanName(r.PostFormValue("name"))
	if !c.auth.CheckToken(strings.TrimSpace(r.PostFormValue("token"))) {
		c.render(w, r, http.StatusUnauthorized, "login", page{Title: "Log in", Flash: "That token is not right.", FlashBad: true,
			Data: map[string]any{"Next": next, "Name": name}})
		return
	}
	if c.auth.Enabled() {
		http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: c.auth.SessionValue(), Path: "/",
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	}
	if name != "" {
		http.SetCookie(w, &http.Cookie{Name: actorCookie, Value: name, Path: "/",
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode, MaxAge: 30 * 24 * 3600})
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	for _, name := range []string{auth.SessionCookie, actorCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: c.secure, SameSite: http.SameSiteStrictMode})
	}
	http.Redirect(w, r, "/login?flash=logged-out", http.StatusSeeOther)
}

// localPath keeps a redirect target on this site: an absolute path, with no
// scheme, host, backslash, space or control character (browsers drop tabs
// and newlines from a Location and read a backslash as a slash, which would
// turn "/\t/evil.example" into "//evil.example").
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "/"
	}
	return p
}
