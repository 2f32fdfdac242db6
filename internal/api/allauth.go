package api

import (
	"errors"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/web"
)

// The app sign-in of django-allauth's headless API, as the Taruvi SDKs
// call it: POST /_allauth/app/v1/auth/login, then GET and DELETE
// /_allauth/app/v1/auth/session with the session token in X-Session-Token.
// These routes answer in allauth's shapes, not in the API's envelopes:
// {status, data, meta} for a session, {status, errors} for a refusal.

// allauthUser is the user of an allauth session.
type allauthUser struct {
	ID       int64  `json:"id"`
	Display  string `json:"display"`
	Email    string `json:"email"`
	Username string `json:"username"`
	// HasUsablePassword is always true here: a session is only opened by
	// a password sign-in, and setting or changing the password ends the
	// user's sessions.
	HasUsablePassword bool `json:"has_usable_password"`
}

// allauthMethod is one way the session's user authenticated, and when
// (seconds since the epoch).
type allauthMethod struct {
	Method   string  `json:"method"` // "password"
	At       float64 `json:"at"`
	Email    string  `json:"email,omitempty"`
	Username string  `json:"username,omitempty"`
}

// allauthSessionData is the data of an authenticated allauth answer.
type allauthSessionData struct {
	User    allauthUser     `json:"user"`
	Methods []allauthMethod `json:"methods"`
}

// allauthMeta is the meta of an allauth answer. A sign-in sets the
// tokens: SessionToken for X-Session-Token, and AccessToken (a JWT for
// Authorization: Bearer) with its RefreshToken, all of one session.
type allauthMeta struct {
	IsAuthenticated bool   `json:"is_authenticated"`
	SessionToken    string `json:"session_token,omitempty"`
	AccessToken     string `json:"access_token,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	ExpiresIn       int    `json:"expires_in,omitempty"` // seconds until AccessToken expires
}

// allauthSession is the body of an authenticated allauth answer (200).
type allauthSession struct {
	Status int                `json:"status"`
	Data   allauthSessionData `json:"data"`
	Meta   allauthMeta        `json:"meta"`
}

// allauthFlow is a way to authenticate that a client may take next.
type allauthFlow struct {
	ID string `json:"id"` // "login"
}

// allauthFlows is the data of an unauthenticated allauth answer.
type allauthFlows struct {
	Flows []allauthFlow `json:"flows"`
}

// allauthUnauthenticated is the body of allauth's 401: no session, or it
// ended (after a sign-out, too).
type allauthUnauthenticated struct {
	Status int          `json:"status"` // 401
	Data   allauthFlows `json:"data"`
	Meta   allauthMeta  `json:"meta"`
}

// allauthError is one reason for a refusal; Param names the input at
// fault, when one is.
type allauthError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Param   string `json:"param,omitempty"`
}

// allauthErrors is the body of an allauth refusal (400, 429 and others).
type allauthErrors struct {
	Status int            `json:"status"`
	Errors []allauthError `json:"errors"`
}

// badAppCredentials is the refusal of a wrong email, username or password,
// the same for all three. Its text says "invalid credentials" because SDKs
// recognise a failed sign-in by such words.
var badAppCredentials = allauthError{Code: "email_password_mismatch", Param: "password",
	Message: "Invalid credentials: the email address (or username) and/or password you specified are not correct."}

func (a *API) handleAppLogin(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	var in taruvi.Credentials
	if err := decode(w, r, &in); err != nil {
		return allauthRefusal(w, err, "invalid")
	}
	s, err := a.Auth.AppLogin(r.Context(), in, web.ClientOf(r))
	if taruvi.ErrorCode(err) == taruvi.EUNAUTHORIZED && taruvi.TenantFromContext(r.Context()) == nil {
		// As on the token sign-in: say where tenant users sign in.
		web.WriteJSON(w, http.StatusBadRequest, allauthErrors{Status: http.StatusBadRequest, Errors: []allauthError{{
			Code: badAppCredentials.Code, Param: badAppCredentials.Param, Message: taruvi.ErrorMessage(a.platformBadLogin())}}})
		return nil
	}
	if err != nil {
		// The sign-in refuses only missing fields one by one.
		return allauthRefusal(w, err, "required")
	}
	ctx := taruvi.NewContextWithPrincipal(r.Context(), s.Principal)
	u, err := a.Users.FindUserByID(ctx, s.Principal.UserID)
	if err != nil {
		return err
	}
	method := allauthMethod{Method: "password", At: float64(time.Now().UnixMilli()) / 1000}
	if strings.TrimSpace(in.Email) != "" {
		method.Email = u.Email
	} else {
		method.Username = u.Username
	}
	web.WriteJSON(w, http.StatusOK, allauthSession{Status: http.StatusOK,
		Data: allauthSessionData{User: toAllauthUser(u), Methods: []allauthMethod{method}},
		Meta: allauthMeta{IsAuthenticated: true, SessionToken: s.SessionToken, AccessToken: s.Access,
			RefreshToken: s.Refresh, ExpiresIn: s.ExpiresIn}})
	return nil
}

// handleAppSession answers whether the request's credential (its session
// token, usually) is signed in: 200 with the user, or allauth's 401.
func (a *API) handleAppSession(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	p := taruvi.PrincipalFromContext(r.Context())
	if p == nil {
		return writeUnauthenticated(w)
	}
	u, err := a.Users.FindUserByID(r.Context(), p.UserID)
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return writeUnauthenticated(w)
	} else if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, allauthSession{Status: http.StatusOK,
		Data: allauthSessionData{User: toAllauthUser(u), Methods: []allauthMethod{}},
		Meta: allauthMeta{IsAuthenticated: true}})
	return nil
}

// handleAppLogout ends the session of the request's credential on every
// replica (its session token, access and refresh tokens stop working) and
// answers, as allauth does, 401: no longer authenticated. Without a
// session it answers the same.
func (a *API) handleAppLogout(w http.ResponseWriter, r *http.Request) error {
	if p := taruvi.PrincipalFromContext(r.Context()); p != nil && p.SessionID != "" {
		if err := a.Auth.Logout(r.Context(), ""); err != nil {
			return err
		}
	}
	return writeUnauthenticated(w)
}

func writeUnauthenticated(w http.ResponseWriter) error {
	web.WriteJSON(w, http.StatusUnauthorized, allauthUnauthenticated{Status: http.StatusUnauthorized,
		Data: allauthFlows{Flows: []allauthFlow{{ID: "login"}}}, Meta: allauthMeta{IsAuthenticated: false}})
	return nil
}

func toAllauthUser(u *taruvi.User) allauthUser {
	display := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if display == "" {
		display = u.Username
	}
	if display == "" {
		display = u.Email
	}
	return allauthUser{ID: u.ID, Display: display, Email: u.Email, Username: u.Username, HasUsablePassword: true}
}

// allauthRefusal writes a client error of a sign-in in allauth's shape:
// bad credentials are 400 email_password_mismatch, as allauth answers
// them; each field at fault an error of fieldCode; throttling 429 with
// Retry-After. Errors of the server (unavailable, internal) are returned
// as they are.
func allauthRefusal(w http.ResponseWriter, err error, fieldCode string) error {
	code := taruvi.ErrorCode(err)
	status := web.ErrorStatus(code)
	var e *taruvi.Error
	errors.As(err, &e)
	body := allauthErrors{Status: status}
	switch {
	case code == taruvi.EUNAUTHORIZED:
		status, body.Status = http.StatusBadRequest, http.StatusBadRequest
		body.Errors = []allauthError{badAppCredentials}
	case code == taruvi.ERATELIMITED:
		if e != nil && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
		body.Errors = []allauthError{{Code: "too_many_login_attempts", Message: taruvi.ErrorMessage(err)}}
	case status >= 400 && status < 500 && e != nil && len(e.Fields) > 0:
		for _, field := range slices.Sorted(maps.Keys(e.Fields)) {
			body.Errors = append(body.Errors, allauthError{Code: fieldCode, Param: field, Message: e.Fields[field]})
		}
	case status >= 400 && status < 500:
		body.Errors = []allauthError{{Code: "invalid", Message: taruvi.ErrorMessage(err)}}
	default:
		return err
	}
	web.WriteJSON(w, status, body)
	return nil
}
