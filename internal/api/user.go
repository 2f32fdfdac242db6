package api

import (
	"net/http"

	"taruvi"
)

func (a *API) handleUserMe(w http.ResponseWriter, r *http.Request) error {
	p := taruvi.PrincipalFromContext(r.Context())
	if p == nil {
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	}
	u, err := a.Users.FindUserByID(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Current user.", u)
}

func (a *API) handleUserList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(r, taruvi.UserListSpec)
	if err != nil {
		return err
	}
	users, total, err := a.Users.ListUsers(r.Context(), q)
	if err != nil {
		return err
	}
	return list(w, "Users.", users, total, q)
}

func (a *API) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	var in taruvi.UserCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := a.Users.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "User created.", u)
}

func (a *API) handleUserGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := a.Users.FindUserByID(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "User.", u)
}

func (a *API) handleUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in taruvi.UserUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := a.Users.UpdateUser(r.Context(), id, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "User updated.", u)
}

func (a *API) handleUserDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Users.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "User deleted.", nil)
}

type setPasswordRequest struct {
	Password string `json:"password"`
}

func (a *API) handleUserSetPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in setPasswordRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := a.Users.SetPassword(r.Context(), id, in.Password); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Password set; the user's sessions have ended.", nil)
}
