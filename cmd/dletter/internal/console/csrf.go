package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
)

// csrfCookie holds the console's CSRF token; every state-changing form
// carries the same value in its csrf field (double submit). The cookie is
// HttpOnly and SameSite=Strict, and the server also refuses cross-origin
// requests (http.CrossOriginProtection), so a foreign page can neither read
// the token nor send the cookie.
const csrfCookie = "dletter_csrf"

// csrfToken returns the request's CSRF token, setting a new cookie when the
// browser has none.
func (c *Console) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 64 {
		return ck.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	c.setCookie(w, r, csrfCookie, tok, 0)
	return tok
}

// checkCSRF reports whether the form's csrf field matches the cookie, and
// answers 403 when it does not.
func (c *Console) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	if err == nil && len(ck.Value) == 64 && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) == 1 {
		return true
	}
	c.errorPage(w, r, http.StatusForbidden,
		"This form has expired or did not come from this console (CSRF check failed). Go back, reload the page and try again.")
	return false
}
