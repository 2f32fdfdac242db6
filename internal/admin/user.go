package admin

import (
	"net/http"
	"strconv"
	"strings"

	"taruvi"
)

// usersPage lists the users of the scope (a tenant's users, or the
// platform's admins) with the form that adds one.
type usersPage struct {
	Page
	Users    []*taruvi.User
	List     listView
	Form     form
	Platform bool
	Base     string // /admin/users or /admin/admins
}

func usersBase(rq *request) string {
	if rq.tenant == nil {
		return "/admin/admins"
	}
	return "/admin/users"
}

func (a *Admin) handleUserList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showUsers(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showUsers(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	q, view, err := parseList(r, taruvi.UserListSpec)
	if err != nil {
		return err
	}
	users, total, err := a.Users.ListUsers(r.Context(), q)
	if err != nil {
		return err
	}
	title := "Users"
	if rq.tenant == nil {
		title = "Platform admins"
	}
	a.render(w, r, status, "users", &usersPage{Page: rq.page(title, "users"), Users: users, List: view.withTotal(total, q.PageSize),
		Form: f, Platform: rq.tenant == nil, Base: usersBase(rq)})
	return nil
}

func (a *Admin) handleUserCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "email", "first_name", "last_name", "owner")
	u, err := a.Users.CreateUser(r.Context(), taruvi.UserCreate{Email: f.Get("email"), Password: r.PostFormValue("password"),
		FirstName: f.Get("first_name"), LastName: f.Get("last_name"), IsOwner: f.Get("owner") == "on"})
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return a.showUsers(w, r, rq, http.StatusBadRequest, f)
	}
	return a.redirect(w, r, usersBase(rq)+"/", "User "+u.Email+" created.")
}

// userPage edits one user.
type userPage struct {
	Page
	U            *taruvi.User
	Form         form
	PasswordForm form
}

func (a *Admin) handleUserGet(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showUser(w, r, rq, http.StatusOK, form{}, form{})
}

func (a *Admin) showUser(w http.ResponseWriter, r *http.Request, rq *request, status int, f, pf form) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := a.Users.FindUserByID(r.Context(), id)
	if err != nil {
		return err
	}
	if f.Values == nil {
		f = form{Values: map[string][]string{"email": {u.Email}, "first_name": {u.FirstName}, "last_name": {u.LastName}}}
	}
	a.render(w, r, status, "user", &userPage{Page: rq.page(u.Email, "users"), U: u, Form: f, PasswordForm: pf})
	return nil
}

func (a *Admin) handleUserUpdate(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r, "email", "first_name", "last_name", "active")
	upd := taruvi.UserUpdate{}
	if r.PostFormValue("action") == "deactivate" || r.PostFormValue("action") == "activate" {
		active := r.PostFormValue("action") == "activate"
		upd.IsActive = &active
	} else {
		email, first, last := f.Get("email"), f.Get("first_name"), f.Get("last_name")
		upd.Email, upd.FirstName, upd.LastName = &email, &first, &last
	}
	u, err := a.Users.UpdateUser(r.Context(), id, upd)
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		return a.showUser(w, r, rq, http.StatusBadRequest, f, form{})
	}
	msg := "User " + u.Email + " saved."
	if upd.IsActive != nil {
		msg = "User " + u.Email + map[bool]string{true: " activated.", false: " deactivated; their sessions have ended."}[u.IsActive]
	}
	return a.redirect(w, r, "/admin/users/"+strconv.FormatInt(id, 10)+"/", msg)
}

func (a *Admin) handleUserPassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Users.SetPassword(r.Context(), id, r.PostFormValue("password")); err != nil {
		pf := form{Values: map[string][]string{}}
		if !pf.Fail(err) {
			return err
		}
		if len(pf.Errors) == 0 {
			pf.Errors["password"] = pf.Message
		}
		return a.showUser(w, r, rq, http.StatusBadRequest, form{}, pf)
	}
	return a.redirect(w, r, "/admin/users/"+strconv.FormatInt(id, 10)+"/", "Password set; the user's sessions have ended.")
}

// groupsPage lists groups with their permissions and members.
type groupsPage struct {
	Page
	Groups      []*taruvi.Group
	Users       []*taruvi.User
	Names       map[int64]string
	Permissions []taruvi.Permission
	Form        form
}

func (a *Admin) handleGroupList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showGroups(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showGroups(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	ctx := r.Context()
	groups, err := a.Users.ListGroups(ctx)
	if err != nil {
		return err
	}
	perms, err := a.Users.ListPermissions(ctx)
	if err != nil {
		return err
	}
	p := &groupsPage{Page: rq.page("Groups", "groups"), Groups: groups, Permissions: perms, Form: f}
	p.Users, p.Names = a.listUsers(r)
	a.render(w, r, status, "groups", p)
	return nil
}

func (a *Admin) handleGroupCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "name")
	g, err := a.Users.CreateGroup(r.Context(), f.Get("name"))
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		if len(f.Errors) == 0 {
			f.Errors["name"] = f.Message
		}
		return a.showGroups(w, r, rq, http.StatusBadRequest, f)
	}
	return a.redirect(w, r, "/admin/groups/", "Group "+g.Name+" created.")
}

func (a *Admin) handleGroupMemberAdd(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := formInt(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.Users.AddGroupMember(r.Context(), id, userID); err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/groups/", "Member added.")
}

func (a *Admin) handleGroupDelete(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Users.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/groups/", "Group deleted.")
}

// grantsPage lists permissions held by users and groups, model-wide or on
// one object, with the form that grants one.
type grantsPage struct {
	Page
	Grants      []*taruvi.ObjectGrant
	Users       []*taruvi.User
	Groups      []*taruvi.Group
	Names       map[int64]string
	GroupNames  map[int64]string
	Permissions []taruvi.Permission
	Form        form
}

func (a *Admin) handleGrantList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showGrants(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showGrants(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	ctx := r.Context()
	grants, err := a.Users.ListGrants(ctx)
	if err != nil {
		return err
	}
	p := &grantsPage{Page: rq.page("Grants", "grants"), Grants: grants, Form: f, GroupNames: map[int64]string{}}
	if p.Permissions, err = a.Users.ListPermissions(ctx); err != nil {
		return err
	}
	p.Users, p.Names = a.listUsers(r)
	if groups, err := a.Users.ListGroups(ctx); err == nil {
		p.Groups = groups
		for _, g := range groups {
			p.GroupNames[g.ID] = g.Name
		}
	}
	a.render(w, r, status, "grants", p)
	return nil
}

// grantFromForm reads the grant form: a target "user:ID" or "group:ID", a
// permission, and optionally an object type and id.
func grantFromForm(r *http.Request, f *form) (taruvi.ObjectGrant, bool) {
	g := taruvi.ObjectGrant{Permission: f.Get("permission"), ObjectType: f.Get("object_type"), ObjectID: f.Get("object_id")}
	kind, raw, _ := strings.Cut(f.Get("target"), ":")
	id, err := strconv.ParseInt(raw, 10, 64)
	switch {
	case err != nil || id <= 0:
		f.Errors["target"] = "Choose a user or a group."
		return g, false
	case kind == "user":
		g.UserID = &id
	case kind == "group":
		g.GroupID = &id
	default:
		f.Errors["target"] = "Choose a user or a group."
		return g, false
	}
	return g, true
}

func (a *Admin) handleGrantCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "target", "permission", "object_type", "object_id")
	g, ok := grantFromForm(r, &f)
	if ok {
		_, err := a.Users.GrantPermission(r.Context(), g)
		if err == nil {
			return a.redirect(w, r, "/admin/grants/", "Permission "+g.Permission+" granted.")
		}
		if !f.Fail(err) {
			return err
		}
		if len(f.Errors) == 0 {
			f.Errors["permission"] = f.Message
		}
	}
	return a.showGrants(w, r, rq, http.StatusBadRequest, f)
}

func (a *Admin) handleGrantRevoke(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "target", "permission", "object_type", "object_id")
	g, ok := grantFromForm(r, &f)
	if !ok {
		return taruvi.Errorf(taruvi.EINVALID, "Choose a user or a group.")
	}
	if err := a.Users.RevokeGrant(r.Context(), g); err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/grants/", "Permission "+g.Permission+" revoked.")
}
