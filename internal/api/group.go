package api

import (
	"net/http"

	"taruvi"
)

func (a *API) handleGroupList(w http.ResponseWriter, r *http.Request) error {
	groups, err := a.Users.ListGroups(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Groups.", nonNil(groups))
}

type groupCreateRequest struct {
	Name string `json:"name"`
}

func (a *API) handleGroupCreate(w http.ResponseWriter, r *http.Request) error {
	var in groupCreateRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := a.Users.CreateGroup(r.Context(), in.Name)
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Group created.", g)
}

func (a *API) handleGroupDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Users.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Group deleted.", nil)
}

type memberRequest struct {
	UserID int64 `json:"user_id"`
}

func (a *API) handleGroupMemberAdd(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in memberRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.UserID <= 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid request.", Fields: map[string]string{"user_id": "This field is required."}}
	}
	if err := a.Users.AddGroupMember(r.Context(), id, in.UserID); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Member added.", nil)
}

func (a *API) handleGroupMemberRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.Users.RemoveGroupMember(r.Context(), id, userID); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Member removed.", nil)
}

func (a *API) handlePermissionList(w http.ResponseWriter, r *http.Request) error {
	perms, err := a.Users.ListPermissions(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Permissions.", nonNil(perms))
}

func (a *API) handleGrantList(w http.ResponseWriter, r *http.Request) error {
	grants, err := a.Users.ListGrants(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Grants.", nonNil(grants))
}

// grantRequest names a permission given to a user or a group, model-wide
// or (with object_type and object_id) on one object.
type grantRequest struct {
	UserID     *int64 `json:"user_id"`
	GroupID    *int64 `json:"group_id"`
	Permission string `json:"permission"`
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
}

func (g grantRequest) toGrant() taruvi.ObjectGrant {
	return taruvi.ObjectGrant{UserID: g.UserID, GroupID: g.GroupID, Permission: g.Permission, ObjectType: g.ObjectType, ObjectID: g.ObjectID}
}

func (a *API) handleGrantCreate(w http.ResponseWriter, r *http.Request) error {
	var in grantRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := a.Users.GrantPermission(r.Context(), in.toGrant())
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Permission granted.", g)
}

func (a *API) handleGrantRevoke(w http.ResponseWriter, r *http.Request) error {
	var in grantRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := a.Users.RevokeGrant(r.Context(), in.toGrant()); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Grant revoked.", nil)
}
