package api

import (
	"net/http"
	"time"

	"taruvi"
	"taruvi/internal/web"
)

func (a *API) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var in taruvi.Credentials
	if err := decode(w, r, &in); err != nil {
		return err
	}
	pair, err := a.Auth.Login(r.Context(), in, web.ClientOf(r))
	if taruvi.ErrorCode(err) == taruvi.EUNAUTHORIZED && taruvi.TenantFromContext(r.Context()) == nil {
		return a.platformBadLogin()
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, http.StatusOK, "Signed in.", pair)
}

// platformBadLogin answers every failed sign-in on a platform host, where
// only platform admins sign in, and says where tenant users do. It is the
// same for every account, so it tells nothing of who exists where.
func (a *API) platformBadLogin() error {
	domain := a.BaseDomain
	if domain == "" {
		domain = "{base domain}"
	}
	return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Invalid credentials. Platform admins sign in here; tenant users sign in "+
		"on their tenant's host, {tenant}.%s, or under /sites/{tenant}/.", domain)
}

type refreshRequest struct {
	Refresh string `json:"refresh"`
}

func (a *API) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Refresh == "" {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid request.", Fields: map[string]string{"refresh": "This field is required."}}
	}
	pair, err := a.Auth.Refresh(r.Context(), in.Refresh, web.ClientOf(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, http.StatusOK, "Token refreshed.", pair)
}

type verifyRequest struct {
	Token string `json:"token"`
}

// handleVerify answers whether an access token is valid here (200) or not
// (401), as the session check on every request would.
func (a *API) handleVerify(w http.ResponseWriter, r *http.Request) error {
	var in verifyRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Token == "" {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid request.", Fields: map[string]string{"token": "This field is required."}}
	}
	if _, err := a.Auth.Authenticate(r.Context(), "Bearer "+in.Token); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Token is valid.", map[string]bool{"valid": true})
}

func (a *API) handleLogout(w http.ResponseWriter, r *http.Request) error {
	var in refreshRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	if err := a.Auth.Logout(r.Context(), in.Refresh); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Signed out.", nil)
}

type changePasswordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

func (a *API) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	var in changePasswordRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := a.Users.ChangePassword(r.Context(), in.OldPassword, in.NewPassword); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Password changed; sign in again.", nil)
}

func (a *API) handleAPIKeyList(w http.ResponseWriter, r *http.Request) error {
	keys, err := a.Auth.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "API keys.", nonNil(keys))
}

type apiKeyCreateRequest struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (a *API) handleAPIKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var in apiKeyCreateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	key, err := a.Auth.CreateAPIKey(r.Context(), in.Name, in.ExpiresAt)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return ok(w, http.StatusCreated, "API key created; its secret is shown this once.", key)
}

func (a *API) handleAPIKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Auth.RevokeAPIKey(r.Context(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "API key revoked.", nil)
}

// nonNil turns a nil slice into an empty one, so lists are [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
