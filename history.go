package taruvi

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Object types of the history besides ObjectProject and ObjectTask.
const (
	ObjectFile  = "file"
	ObjectUser  = "user"
	ObjectGroup = "group"
	// ObjectProjectMember is the membership of a project; its history is
	// recorded under the project's id.
	ObjectProjectMember = "project_member"
)

// CoreHistoryObjectTypes are the object types of the core's audited
// tables (users and groups), whose history can be read whatever modules
// the platform has.
var CoreHistoryObjectTypes = []string{ObjectUser, ObjectGroup}

// HistoryObjectTypes are the object types whose history can be read on a
// platform of modules: those of the modules' audited tables
// (ModuleParts.Audited), in the order of the list of modules, each once,
// then the core's. The history API accepts and documents these, so that a
// module's audited table needs no edit of the core.
func HistoryObjectTypes(modules []Module) []string {
	var out []string
	for _, m := range modules {
		for _, a := range m.Parts().Audited {
			if !slices.Contains(out, a.ObjectType) {
				out = append(out, a.ObjectType)
			}
		}
	}
	for _, t := range CoreHistoryObjectTypes {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// HistoryFamilies are the families of run-time object types of the
// modules (ModuleParts.HistoryFamilies), in the order of the list of
// modules.
func HistoryFamilies(modules []Module) []HistoryFamily {
	var out []HistoryFamily
	for _, m := range modules {
		out = append(out, m.Parts().HistoryFamilies...)
	}
	return out
}

// History actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// HistoryEntry is one recorded change of one object, written by the
// database in the same transaction as the change. Before and After are the
// row as JSON (null on create and delete respectively), without secrets: a
// password change shows as "password" in Changed and nowhere else.
type HistoryEntry struct {
	ID         int64           `json:"id"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Action     string          `json:"action"`
	ActorID    *int64          `json:"actor_id"`   // nil for the command line and the system
	RequestID  *string         `json:"request_id"` // the X-Request-ID of the request that made it
	Changed    []string        `json:"changed"`    // the fields an update changed
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	CreatedAt  time.Time       `json:"created_at"`
}

// HistoryListSpec is what history lists filter and order by.
var HistoryListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "action", Kind: KindEnum, Enum: []string{ActionCreate, ActionUpdate, ActionDelete}, Filter: true},
		{Name: "actor_id", Kind: KindInt, Filter: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "created_at", Desc: true}, {Field: "id", Desc: true}},
}

// HistoryService reads the audit history of the tenant in ctx.
type HistoryService interface {
	// ListHistory returns one page of the history of one object, newest
	// first, and how many entries there are in all. The caller must be able
	// to see the object: a project, task or file through its project (also
	// after it was deleted), a user or group with users.view_user or
	// users.view_group. EINVALID for an unknown object type or a malformed
	// id; ENOTFOUND for an object with no history or one the caller cannot
	// see; EFORBIDDEN for users and groups without the permission;
	// EUNAUTHORIZED without a principal.
	ListHistory(ctx context.Context, objectType, objectID string, q ListQuery) ([]*HistoryEntry, int, error)
}
