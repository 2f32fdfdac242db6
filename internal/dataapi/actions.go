package dataapi

import (
	"context"
	"fmt"
	"strings"

	"taruvi"
)

// actionLiterals are the actions allowed_actions= may ask about, as the
// SQL literals a row's _allowed_actions is built from.
var actionLiterals = map[string]string{
	ActionRead: "'read'", ActionCreate: "'create'", ActionUpdate: "'update'", ActionDelete: "'delete'",
}

// ActionCreate is the action of creating rows, for allowed_actions=.
const ActionCreate = "create"

// parseActions reads allowed_actions=read,update,...
func parseActions(v string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a == "" {
			continue
		}
		if _, ok := actionLiterals[a]; !ok {
			return nil, fieldError("allowed_actions", fmt.Sprintf("Unknown action %q: use read, create, update and delete.", a))
		}
		out = append(out, a)
	}
	return out, nil
}

// allowedActionsSQL is the expression that adds _allowed_actions to a row
// of t aliased t: of the actions asked, those the principal of ctx holds
// the permission for and, for update and delete, whose row policy
// condition the row meets. "" when none were asked.
func (s *Service) allowedActionsSQL(ctx context.Context, t *table, actions []string, b *builder) (string, error) {
	if len(actions) == 0 {
		return "", nil
	}
	items := make([]string, 0, len(actions))
	for _, a := range actions {
		perm := taruvi.PermChangeData
		if a == ActionRead {
			perm = taruvi.PermViewData
		}
		switch err := s.authz.Can(ctx, perm, taruvi.Object{Type: taruvi.ObjectApp, ID: t.app}); taruvi.ErrorCode(err) {
		case "":
		case taruvi.EFORBIDDEN, taruvi.EUNAUTHORIZED:
			continue
		default:
			return "", err
		}
		cond := "TRUE"
		if a == ActionUpdate || a == ActionDelete {
			var err error
			if cond, err = s.visible(ctx, t, a, b); err != nil {
				return "", err
			}
		}
		items = append(items, "CASE WHEN "+cond+" THEN "+actionLiterals[a]+" END")
	}
	if len(items) == 0 {
		return " || jsonb_build_object('_allowed_actions', '[]'::jsonb)", nil
	}
	return " || jsonb_build_object('_allowed_actions', to_jsonb(array_remove(ARRAY[" + strings.Join(items, ", ") + "]::text[], NULL)))", nil
}
