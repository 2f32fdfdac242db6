// Package api is the REST surface under /api/: the core's route table
// (identity, permissions, history, tenants, jobs, reports, outbox), its
// handlers, which speak only root-package types, their request and
// response shapes, and the OpenAPI document of every route. Modules
// (taruvi.Module) bring the rest of the routes with their operations, and
// use this package's Decode, OK, PathID, ParseList and WriteList so that
// they answer alike.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/web"
)

// KeySource publishes the public keys that verify access tokens.
type KeySource interface {
	JWKS() ([]byte, error)
}

// API holds what the handlers need.
type API struct {
	Auth  taruvi.AuthService
	Users taruvi.UserService
	Keys  KeySource
	Log   *slog.Logger
	// BaseDomain (TARUVI_BASE_DOMAIN) names tenant hosts in the answer to a
	// failed sign-in on a platform host.
	BaseDomain string

	// History reads the audit history of every module's objects.
	History taruvi.HistoryService

	// Tenants serves the platform's tenant routes.
	Tenants taruvi.TenantService
	Jobs    taruvi.JobService
	Reports taruvi.ReportService
	Outbox  taruvi.OutboxService

	// Modules add their routes after the core's (Register) and their
	// operations to the document (RegisterDocs).
	Modules []taruvi.Module
}

// Register adds every route of the REST surface to s: the core's table,
// one line a route, then each module's routes.
func (a *API) Register(s *web.Server) {
	a.registerCore(s)
	for _, m := range a.Modules {
		for _, r := range m.Parts().Routes {
			s.Handle(r.Pattern, r.Handler)
		}
	}
}

// registerCore adds the core's routes to s. The whole table is here, one
// line a route.
func (a *API) registerCore(s *web.Server) {
	s.Handle("GET /.well-known/jwks.json", a.handleJWKS)
	s.Handle("POST /api/auth/jwt/token", a.handleLogin)
	s.Handle("POST /api/auth/jwt/refresh", a.handleRefresh)
	s.Handle("POST /api/auth/jwt/verify", a.handleVerify)
	s.Handle("POST /api/auth/logout", a.handleLogout)
	s.Handle("POST /api/auth/password/change", a.handleChangePassword)
	s.Handle("POST /_allauth/app/v1/auth/login", a.handleAppLogin)
	s.Handle("GET /_allauth/app/v1/auth/session", a.handleAppSession)
	s.Handle("DELETE /_allauth/app/v1/auth/session", a.handleAppLogout)
	s.Handle("GET /api/auth/api-keys", a.handleAPIKeyList)
	s.Handle("POST /api/auth/api-keys", a.handleAPIKeyCreate)
	s.Handle("DELETE /api/auth/api-keys/{id}", a.handleAPIKeyRevoke)

	s.Handle("GET /api/users/me", a.handleUserMe)
	s.Handle("GET /api/users", a.handleUserList)
	s.Handle("POST /api/users", a.handleUserCreate)
	s.Handle("GET /api/users/{id}", a.handleUserGet)
	s.Handle("PATCH /api/users/{id}", a.handleUserUpdate)
	s.Handle("PUT /api/users/{id}", a.handleUserUpdate)
	s.Handle("DELETE /api/users/{id}", a.handleUserDelete)
	s.Handle("POST /api/users/{id}/set-password", a.handleUserSetPassword)

	s.Handle("GET /api/groups", a.handleGroupList)
	s.Handle("POST /api/groups", a.handleGroupCreate)
	s.Handle("DELETE /api/groups/{id}", a.handleGroupDelete)
	s.Handle("POST /api/groups/{id}/members", a.handleGroupMemberAdd)
	s.Handle("DELETE /api/groups/{id}/members/{user_id}", a.handleGroupMemberRemove)

	s.Handle("GET /api/permissions", a.handlePermissionList)
	s.Handle("GET /api/grants", a.handleGrantList)
	s.Handle("POST /api/grants", a.handleGrantCreate)
	s.Handle("POST /api/grants/revoke", a.handleGrantRevoke)

	s.Handle("GET /api/history", a.handleHistoryList)

	s.Handle("PATCH /api/tenant", a.handleTenantCORS)
	s.Handle("GET /api/tenants", a.handleTenantList)
	s.Handle("POST /api/tenants", a.handleTenantCreate)
	s.Handle("PATCH /api/tenants/{schema}", a.handleTenantSettings)
	s.Handle("GET /api/jobs", a.handleJobList)
	s.Handle("GET /api/jobs/{id}", a.handleJobGet)
	s.Handle("POST /api/jobs/{id}/retry", a.handleJobRetry)
	s.Handle("POST /api/jobs/{id}/cancel", a.handleJobCancel)
	s.Handle("POST /api/reports", a.handleReportCreate)
	s.Handle("GET /api/reports/{id}", a.handleReportGet)
	s.Handle("GET /api/reports/{id}/download", a.handleReportDownload)
	s.Handle("GET /api/outbox", a.handleOutboxList)
}

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// decode reads a JSON object into v. A body that is not JSON by its
// Content-Type is 415; text PostgreSQL cannot store (web.CheckJSONText),
// unknown fields, trailing data, a wrong type or a body over maxJSONBody
// are client errors that say what is wrong. An empty body is "no object"
// whatever its Content-Type says, which an optional body accepts.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return taruvi.Errorf(taruvi.ETOOLARGE, "The body is over %d bytes.", maxErr.Limit)
	case err != nil:
		return taruvi.Errorf(taruvi.EBADREQUEST, "The body could not be read.")
	case len(body) > 0 && !isJSONType(r.Header.Get("Content-Type")):
		return taruvi.Errorf(taruvi.EUNSUPPORTED, "Send the body as JSON, with Content-Type: application/json.")
	}
	if err := web.CheckJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		if dec.More() {
			return taruvi.Errorf(taruvi.EBADREQUEST, "The body must hold one JSON object.")
		}
		return nil
	case errors.Is(err, io.EOF):
		return taruvi.Errorf(taruvi.EBADREQUEST, "The body must be a JSON object.")
	case errors.As(err, &typeErr):
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid value.",
			Fields: map[string]string{typeErr.Field: fmt.Sprintf("Want a %s.", typeErr.Type)}}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return taruvi.Errorf(taruvi.EBADREQUEST, "Malformed JSON: %v.", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Unknown field.", Fields: map[string]string{field: "Unknown field."}}
	}
	return taruvi.Errorf(taruvi.EBADREQUEST, "Malformed JSON.")
}

// isJSONType reports whether a Content-Type names JSON: application/json
// or application/<anything>+json, with any parameters.
func isJSONType(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	sub, ok := strings.CutPrefix(mediaType, "application/")
	return ok && (sub == "json" || (strings.HasSuffix(sub, "+json") && len(sub) > len("+json")))
}

// pathID reads a positive integer path value.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, taruvi.Errorf(taruvi.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// ok writes a success envelope.
func ok(w http.ResponseWriter, status int, message string, data any) error {
	web.WriteData(w, status, message, data)
	return nil
}

func (a *API) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	body, err := a.Keys.JWKS()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(body)
	return err
}
