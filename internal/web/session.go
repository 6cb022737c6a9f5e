package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tradai/tradai/internal/tenancy"
)

// cookieName is the session cookie. It holds the API token the user signed
// in with: every request checks it again (tenancy.Authenticate), so a
// revoked token ends its sessions at once and a restart ends none.
const cookieName = "tradai_session"

// csrfField is the hidden form field every form carries.
const csrfField = "csrf"

// session is a signed-in request's principal and its CSRF token.
type session struct {
	p    tenancy.Principal
	csrf string
	// operator: the user is one of the server's operators.
	operator bool
}

// csrfToken is the form token of a session: an HMAC of a constant keyed by
// the session's API token. A page of this origin can read it; another
// origin can neither read it nor compute it, and it reveals nothing of the
// token.
func csrfToken(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("tradai web form"))
	return hex.EncodeToString(m.Sum(nil))
}

// auth wraps a page that needs a signed-in user: without a valid session
// cookie a page is a redirect to /signin (a fragment a 401), and a POST
// without the session's CSRF token is refused.
func (s *Server) auth(next func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if errors.Is(err, tenancy.ErrUnauthenticated) {
			if r.Header.Get("HX-Request") != "" {
				// htmx swaps error answers in too: a note, not a page.
				s.render(w, r, http.StatusUnauthorized, statusNote("signed out"))
				return
			}
			if r.Method != http.MethodGet {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err != nil {
			s.d.Log.Error("web: authenticate", "err", err)
			http.Error(w, "cannot check the session now; try again", http.StatusServiceUnavailable)
			return
		}
		if wait, ok := s.d.Limits.TakeRequest(sess.p); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second))))
			http.Error(w, "too many requests; try again in a moment", http.StatusTooManyRequests)
			return
		}
		if r.Method == http.MethodPost && !validCSRF(r, sess.csrf) {
			s.render(w, r, http.StatusForbidden, s.page(sess, "Refused", "", errorBody("Refused", "The form was not sent from this site's page (its form token is missing or wrong). Open the page again and resend it.")))
			return
		}
		next(w, r, sess)
	})
}

// session is the request's session; tenancy.ErrUnauthenticated without one.
func (s *Server) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, tenancy.ErrUnauthenticated
	}
	p, err := s.d.Auth.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	op := s.d.Operations != nil && s.d.Operations.Operator(r.Context(), p)
	return &session{p: p, csrf: csrfToken(c.Value), operator: op}, nil
}

func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, s.page(nil, "Sign in", "", signInBody(safeNext(r.URL.Query().Get("next")), "")))
}

// signInPost checks the token and sets the session cookie. Failed sign-ins
// count against the client address's limit, as the API's do.
func (s *Server) signInPost(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	if s.d.Limits.AuthWait(r) > 0 {
		s.render(w, r, http.StatusTooManyRequests, s.page(nil, "Sign in", "", signInBody(next, "Too many failed sign-ins; wait a minute and try again.")))
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	p, err := s.d.Auth.Authenticate(r.Context(), token)
	if errors.Is(err, tenancy.ErrUnauthenticated) || (err == nil && token == "") {
		s.d.Limits.AuthFailed(r)
		s.render(w, r, http.StatusUnauthorized, s.page(nil, "Sign in", "", signInBody(next, "That API token is unknown or revoked.")))
		return
	}
	if err != nil {
		s.fail(w, r, nil, "checking the API token", err)
		return
	}
	s.d.Log.Info("web: signed in", "tenant", p.Tenant, "user", p.User)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/",
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut clears the session cookie (the CSRF token is checked: another
// site cannot sign a user out).
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if sess, err := s.session(r); err == nil && !validCSRF(r, sess.csrf) {
		s.render(w, r, http.StatusForbidden, s.page(sess, "Refused", "", errorBody("Refused", "The form token is missing or wrong.")))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// secure tells whether r came over TLS (to this server, or to the proxy in
// front of it when its X-Forwarded-Proto is trusted).
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || (s.o.TrustForwardedProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// safeNext is where to go after signing in: a path of this site only.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/runs"
	}
	return next
}
