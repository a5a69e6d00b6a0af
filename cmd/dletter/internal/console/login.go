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

// login checks the token, starts a session (a random id held by the
// server, never the token nor anything derived from it) and sets its cookie
// and the name used in the audit log. A session the browser already had is
// ended.
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
		c.endSession(r)
		id, err := c.auth.NewSession()
		if err != nil {
			c.log.Error("console: start a session", "err", err)
			c.errorPage(w, r, http.StatusInternalServerError, "Could not start a session; try again.")
			return
		}
		c.setCookie(w, r, auth.SessionCookie, id, int(auth.SessionTTL.Seconds()))
	}
	if name != "" {
		c.setCookie(w, r, actorCookie, name, 30*24*3600)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if !c.checkCSRF(w, r) {
		return
	}
	c.endSession(r)
	for _, name := range []string{auth.SessionCookie, actorCookie} {
		c.setCookie(w, r, name, "", -1)
	}
	http.Redirect(w, r, "/login?flash=logged-out", http.StatusSeeOther)
}

// endSession ends the session whose cookie r carries, if any: the cookie
// is then worthless, even if a copy of it survives the browser's.
func (c *Console) endSession(r *http.Request) {
	if ck, err := r.Cookie(auth.SessionCookie); err == nil {
		c.auth.EndSession(ck.Value)
	}
}

// setCookie sets one of the console's cookies: HttpOnly, SameSite=Strict,
// for the whole site, and Secure when the browser reached the page over
// TLS (see overTLS). maxAge -1 deletes it.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: overTLS(r), SameSite: http.SameSiteStrictMode})
}

// overTLS reports whether the browser reached r over TLS: r came over TLS,
// or a proxy in front that terminates TLS says so (X-Forwarded-Proto: https,
// or proto=https in Forwarded). Trusting the header is safe here: all it
// can do is mark a cookie Secure, which a browser on plain HTTP then does
// not send back; it never takes Secure away.
func overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.EqualFold(strings.TrimSpace(p), "https") {
		return true
	}
	first, _, _ := strings.Cut(r.Header.Get("Forwarded"), ",")
	for pair := range strings.SplitSeq(first, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
		if strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(v, `"`), "https") {
			return true
		}
	}
	return false
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
