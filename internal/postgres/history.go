package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// History implements taruvi.HistoryService over the tenant's history
// table, which the record_history() triggers fill.
type History struct {
	db       *DB
	authz    taruvi.Authorizer
	types    []string               // the object types whose history can be read
	families []taruvi.HistoryFamily // and the families of run-time types
}

var _ taruvi.HistoryService = (*History)(nil)

// NewHistory returns the history service over db, authorizing through
// authz, for the object types objectTypes (taruvi.HistoryObjectTypes of
// the platform's modules) and the run-time types of families
// (taruvi.HistoryFamilies): another type is a 400 naming these.
func NewHistory(db *DB, authz taruvi.Authorizer, objectTypes []string, families ...taruvi.HistoryFamily) *History {
	return &History{db: db, authz: authz, types: slices.Clone(objectTypes), families: slices.Clone(families)}
}

// family returns the family objectType belongs to, if any.
func (s *History) family(objectType string) (taruvi.HistoryFamily, bool) {
	for _, f := range s.families {
		if f.Prefix != "" && strings.HasPrefix(objectType, f.Prefix) {
			return f, true
		}
	}
	return taruvi.HistoryFamily{}, false
}

// maxFamilyObjectID bounds the object id of a run-time type (a row's
// primary key as text: a number or a uuid).
const maxFamilyObjectID = 200

// historyProjectKey is, for the object types seen through a project, the
// key of the project's id in their recorded rows.
var historyProjectKey = map[string]string{
	taruvi.ObjectProject:       "id",
	taruvi.ObjectProjectMember: "project_id",
	taruvi.ObjectTask:          "project_id",
	taruvi.ObjectFile:          "project_id",
}

// historyPermission is the permission that shows the history of the
// core's object types. A module's type that is neither these nor seen
// through a project shows its history to the tenant's owners only.
var historyPermission = map[string]string{
	taruvi.ObjectUser:  taruvi.PermViewUser,
	taruvi.ObjectGroup: taruvi.PermViewGroup,
}

const historyColumns = `h.id, h.object_type, h.object_id, h.action, h.actor_id, h.request_id, h.changed,
	h.before, h.after, h.created_at`

func scanHistoryEntry(row pgx.Row, extra ...any) (*taruvi.HistoryEntry, error) {
	var e taruvi.HistoryEntry
	err := row.Scan(append([]any{&e.ID, &e.ObjectType, &e.ObjectID, &e.Action, &e.ActorID, &e.RequestID,
		&e.Changed, &e.Before, &e.After, &e.CreatedAt}, extra...)...)
	return &e, err
}

// ListHistory implements taruvi.HistoryService. Whether the caller may see
// a project, task or file is decided from its newest history entry, which
// names its project even after the object was deleted.
func (s *History) ListHistory(ctx context.Context, objectType, objectID string, q taruvi.ListQuery) ([]*taruvi.HistoryEntry, int, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, 0, err
	}
	fam, inFamily := s.family(objectType)
	if inFamily {
		if objectID == "" || len(objectID) > maxFamilyObjectID {
			return nil, 0, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid history request.",
				Fields: map[string]string{"object_id": fmt.Sprintf("Use the id of the object, at most %d characters.", maxFamilyObjectID)}}
		}
	} else if objectID, err = validateHistoryObject(s.types, s.families, objectType, objectID); err != nil {
		return nil, 0, err
	}
	if inFamily {
		if err := fam.Authorize(ctx, objectType); err != nil {
			return nil, 0, err
		}
	} else if perm, ok := historyPermission[objectType]; ok {
		if err := s.authz.Can(ctx, perm, taruvi.Object{}); err != nil {
			return nil, 0, err
		}
	} else if _, viaProject := historyProjectKey[objectType]; !viaProject && !p.IsOwner {
		return nil, 0, taruvi.Errorf(taruvi.EFORBIDDEN, "Only the tenant's owners may read the history of %s objects.", objectType)
	}
	lc := buildList(taruvi.HistoryListSpec, q, "h", []any{objectType, objectID})
	where := `h.object_type = $1 AND h.object_id = $2 AND ` + lc.Where
	var entries []*taruvi.HistoryEntry
	total := 0
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := s.checkVisible(ctx, tx, p, objectType, objectID); err != nil {
			return err
		}
		var err error
		entries, total, err = listPage(ctx, tx, pageSQL(historyColumns, "history", "h", where, lc),
			countSQL("history", "h", where), lc.Args, q.Offset(), scanHistoryEntry)
		return err
	})
	if taruvi.ErrorCode(err) == taruvi.EINTERNAL {
		return nil, 0, fmt.Errorf("list history of %s %s: %w", objectType, objectID, err)
	}
	return entries, total, err
}

// validateHistoryObject checks the object type against types and returns
// the id in the form the history records it; the message of an unknown
// type names the families' prefixes too.
func validateHistoryObject(types []string, families []taruvi.HistoryFamily, objectType, objectID string) (string, error) {
	fields := map[string]string{}
	if objectType == "" {
		fields["object_type"] = "This field is required."
	} else if !slices.Contains(types, objectType) {
		fields["object_type"] = "Use one of " + strings.Join(types, ", ")
		for _, f := range families {
			fields["object_type"] += ", " + f.Prefix + "..."
		}
		fields["object_type"] += "."
	}
	id, err := strconv.ParseInt(objectID, 10, 64)
	switch {
	case objectID == "":
		fields["object_id"] = "This field is required."
	case err != nil || id <= 0:
		fields["object_id"] = "Use the id of the object, a whole number from 1."
	}
	if len(fields) > 0 {
		return "", &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid history request.", Fields: fields}
	}
	return strconv.FormatInt(id, 10), nil
}

// checkVisible returns ENOTFOUND unless the object has a history the
// principal may read.
func (s *History) checkVisible(ctx context.Context, tx pgx.Tx, p *taruvi.Principal, objectType, objectID string) error {
	var ok bool
	var err error
	if key, viaProject := historyProjectKey[objectType]; viaProject {
		visible, args := projectVisible(p, "x.project_id", []any{objectType, objectID, key})
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM (
				SELECT (coalesce(h.after, h.before) ->> $3::text)::bigint AS project_id FROM history h
				WHERE h.object_type = $1 AND h.object_id = $2 ORDER BY h.id DESC LIMIT 1) x
			WHERE `+visible+`)`, args...).Scan(&ok)
	} else {
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM history h WHERE h.object_type = $1 AND h.object_id = $2)`,
			objectType, objectID).Scan(&ok)
	}
	if err != nil {
		return fmt.Errorf("check history visibility: %w", err)
	}
	if !ok {
		return taruvi.Errorf(taruvi.ENOTFOUND, "No history of %s %s.", objectType, objectID)
	}
	return nil
}
