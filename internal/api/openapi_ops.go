package api

import (
	"net/http"
	"slices"
	"strings"

	"taruvi"
	"taruvi/internal/web"
)

// operation and param are the root's Operation and Param: the core's
// table below and the modules' routes describe themselves alike.
type (
	operation = taruvi.Operation
	param     = taruvi.Param
)

// Parameters used by many routes.
var (
	idParam     = param{Name: "id", Kind: taruvi.KindInt, Description: "The object's id."}
	userIDParam = param{Name: "user_id", Kind: taruvi.KindInt, Description: "The user's id."}
)

// tags are the groups of the core's operations, in the order the docs
// show them; the modules' tags go before "history" (moduleOperations).
var tags = []taruvi.APITag{
	{Name: "auth", Description: "Sign in, refresh and end sessions; API keys."},
	{Name: "users", Description: "The users of the tenant (or, on the platform host, the platform admins)."},
	{Name: "groups", Description: "Groups of users holding permissions."},
	{Name: "permissions", Description: "Permission codenames and grants to users and groups, model-wide or on one object."},
	{Name: "history", Description: "The audit history of one object: who changed what, when, before and after."},
	{Name: "jobs", Description: "Background jobs: their state, attempts and errors; on the platform host, listing, retrying and cancelling any job."},
	{Name: "reports", Description: "CSV exports of a project's tasks, made by a background job."},
	{Name: "outbox", Description: "Emails the platform sent while no SMTP server is configured (owners only)."},
	{Name: "meta", Description: "The tenant, health, signing keys and this documentation."},
	{Name: "tenants", Description: "Tenants of the platform (platform admins on the platform host) and a tenant's own settings (its owners)."},
}

// Error statuses, named so the table below reads as words.
const (
	s400 = http.StatusBadRequest
	s401 = http.StatusUnauthorized
	s403 = http.StatusForbidden
	s404 = http.StatusNotFound
	s409 = http.StatusConflict
	s413 = http.StatusRequestEntityTooLarge
	s415 = http.StatusUnsupportedMediaType
	s429 = http.StatusTooManyRequests
)

// FileContent stands for a file's bytes, sent or received as they are,
// in an operation's Request or Response: the document shows it as a
// binary string.
type FileContent []byte

// jwksDocument is the body of GET /.well-known/jwks.json.
type jwksDocument struct {
	Keys []jsonWebKey `json:"keys"`
}

// jsonWebKey is one public key of a JWKS (RFC 7517, RFC 8037).
type jsonWebKey struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// operations describes every route of the core, keyed by its mux
// pattern, on a platform whose history has historyTypes
// (taruvi.HistoryObjectTypes). A test holds it and the route table
// together.
func operations(historyTypes []string) map[string]operation {
	return map[string]operation{
		"GET /health/live": {Tag: "meta", Summary: "Liveness probe", Public: true,
			Response: map[string]string{}},
		"GET /health": {Tag: "meta", Summary: "Health of each dependency", Public: true,
			Description: "Database, cache, jobs and storage, each with its status (ok, degraded, down, not configured) and latency. 503 when any is down; a degraded cache (Redis away) still answers 200.",
			Response:    web.HealthReport{}, Raw: []string{"application/json"}},
		"GET /health/ready": {Tag: "meta", Summary: "Readiness probe for load balancers", Public: true,
			Description: "503 from the moment the replica starts draining (SIGTERM) until it exits.",
			Response:    map[string]any{}, Raw: []string{"application/json"}},
		"GET /api/tenant": {Tag: "meta", Summary: "The tenant (or platform) this host serves", Public: true,
			Response: web.TenantInfo{}},
		"GET /.well-known/jwks.json": {Tag: "meta", Summary: "Public keys that verify access tokens", Public: true,
			Response: jwksDocument{}, Raw: []string{"application/json"}},
		"GET /api/schema": {Tag: "meta", Summary: "This OpenAPI document", Public: true,
			Response: map[string]any{}, Raw: []string{"application/json"}},
		"GET /api/docs": {Tag: "meta", Summary: "Interactive documentation", Public: true,
			Response: "", Raw: []string{"text/html"}},
		"GET /api/docs/{asset}": {Tag: "meta", Summary: "A script or style sheet of the documentation", Public: true, Exact: true,
			Path:     []param{{Name: "asset", Kind: taruvi.KindEnum, Enum: docsAssetNames(), Description: "The file."}},
			Response: "", Raw: []string{"text/css", "text/javascript"}, Errors: []int{s404}},

		"POST /api/auth/jwt/token": {Tag: "auth", Summary: "Sign in", Public: true,
			Description: "Exchanges an email (or username) and password for an access token (15 minutes) and a refresh token. Repeated failures are throttled per account and per address.",
			Request:     taruvi.Credentials{}, Response: taruvi.TokenPair{}, Errors: []int{s400, s401, s413, s415, s429}},
		"POST /api/auth/jwt/refresh": {Tag: "auth", Summary: "Refresh the access token", Public: true,
			Description: "Rotates the refresh token: the one sent stops working. Reusing an old refresh token ends the whole session.",
			Request:     refreshRequest{}, Response: taruvi.TokenPair{}, Errors: []int{s400, s401, s413, s415}},
		"POST /api/auth/jwt/verify": {Tag: "auth", Summary: "Check an access token", Public: true,
			Request: verifyRequest{}, Response: map[string]bool{}, Errors: []int{s400, s401, s413, s415}},
		"POST /api/auth/logout": {Tag: "auth", Summary: "Sign out",
			Description: "Ends the session of the credential, and the session of the refresh token when one is sent.",
			Request:     refreshRequest{}, OptionalBody: true, Errors: []int{s400, s401, s413, s415}},
		"POST /api/auth/password/change": {Tag: "auth", Summary: "Change your password",
			Description: "Ends every session of the user.",
			Request:     changePasswordRequest{}, Errors: []int{s400, s401, s413, s415}},
		"POST /_allauth/app/v1/auth/login": {Tag: "auth", Summary: "Sign in as an app (allauth headless)", Public: true, Exact: true,
			Description: "The sign-in of the Taruvi SDKs, in django-allauth headless's shape: an email (or username) and password give meta.session_token " +
				"(send it as `X-Session-Token`), meta.access_token (a JWT for `Authorization: Bearer`) and meta.refresh_token, all of one session. " +
				"Checked and throttled as POST /api/auth/jwt/token. Wrong credentials are 400 email_password_mismatch, as allauth answers them.",
			Request: taruvi.Credentials{}, Response: allauthSession{}, Raw: []string{"application/json"}, Errors: []int{s400, s413, s415, s429}},
		"GET /api/auth/api-keys": {Tag: "auth", Summary: "List your API keys",
			Response: []*taruvi.APIKey{}, Errors: []int{s401}},
		"POST /api/auth/api-keys": {Tag: "auth", Summary: "Create an API key",
			Description: "The secret (key) is in this response only. Send it as `Authorization: Api-Key <key>`.",
			Request:     apiKeyCreateRequest{}, Response: taruvi.APIKey{}, Status: http.StatusCreated, Errors: []int{s400, s401, s413, s415}},
		"GET /_allauth/app/v1/auth/session": {Tag: "auth", Summary: "The app session (allauth headless)", Exact: true,
			Description: "200 with the user while the credential (usually `X-Session-Token`) is signed in; 401 in allauth's shape once its session ended.",
			Response:    allauthSession{}, Raw: []string{"application/json"}, Errors: []int{s401}},
		"DELETE /_allauth/app/v1/auth/session": {Tag: "auth", Summary: "Sign out an app session (allauth headless)", Public: true, Exact: true,
			Description: "Ends the credential's session on every replica: its session token, access and refresh tokens stop working. " +
				"Answers 401 (no longer authenticated), as allauth does, and the same without a session.",
			Response: allauthUnauthenticated{}, Status: http.StatusUnauthorized, Raw: []string{"application/json"}},
		"DELETE /api/auth/api-keys/{id}": {Tag: "auth", Summary: "Revoke an API key",
			Path: []param{idParam}, Errors: []int{s401, s404}},

		"GET /api/users/me": {Tag: "users", Summary: "The signed-in user",
			Response: taruvi.User{}, Errors: []int{s401, s404}},
		"GET /api/users": {Tag: "users", Summary: "List users",
			Description: "Oldest first unless ordered otherwise.",
			List:        &taruvi.UserListSpec, Response: taruvi.User{}, Errors: []int{s400, s401, s403}},
		"POST /api/users": {Tag: "users", Summary: "Create a user",
			Request: taruvi.UserCreate{}, Response: taruvi.User{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s409, s413, s415}},
		"GET /api/users/{id}": {Tag: "users", Summary: "Read a user",
			Path: []param{idParam}, Response: taruvi.User{}, Errors: []int{s401, s403, s404}},
		"PATCH /api/users/{id}": {Tag: "users", Summary: "Change a user",
			Description: "Fields left out stay as they are.",
			Path:        []param{idParam}, Request: taruvi.UserUpdate{}, Response: taruvi.User{}, Errors: []int{s400, s401, s403, s404, s409, s413, s415}},
		"PUT /api/users/{id}": {Tag: "users", Summary: "Change a user",
			Description: "The same as PATCH: fields left out stay as they are.",
			Path:        []param{idParam}, Request: taruvi.UserUpdate{}, Response: taruvi.User{}, Errors: []int{s400, s401, s403, s404, s409, s413, s415}},
		"DELETE /api/users/{id}": {Tag: "users", Summary: "Delete a user",
			Path: []param{idParam}, Errors: []int{s401, s403, s404, s409}},
		"POST /api/users/{id}/set-password": {Tag: "users", Summary: "Set a user's password",
			Description: "Ends every session of the user.",
			Path:        []param{idParam}, Request: setPasswordRequest{}, Errors: []int{s400, s401, s403, s404, s413, s415}},

		"GET /api/groups": {Tag: "groups", Summary: "List groups",
			Response: []*taruvi.Group{}, Errors: []int{s401, s403}},
		"POST /api/groups": {Tag: "groups", Summary: "Create a group",
			Request: groupCreateRequest{}, Response: taruvi.Group{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s409, s413, s415}},
		"DELETE /api/groups/{id}": {Tag: "groups", Summary: "Delete a group",
			Path: []param{idParam}, Errors: []int{s401, s403, s404}},
		"POST /api/groups/{id}/members": {Tag: "groups", Summary: "Add a member to a group",
			Path: []param{idParam}, Request: memberRequest{}, Errors: []int{s400, s401, s403, s404, s413, s415}},
		"DELETE /api/groups/{id}/members/{user_id}": {Tag: "groups", Summary: "Remove a member from a group",
			Path: []param{idParam, userIDParam}, Errors: []int{s401, s403, s404}},

		"GET /api/permissions": {Tag: "permissions", Summary: "List permission codenames",
			Response: []taruvi.Permission{}, Errors: []int{s401, s403}},
		"GET /api/grants": {Tag: "permissions", Summary: "List grants",
			Response: []*taruvi.ObjectGrant{}, Errors: []int{s401, s403}},
		"POST /api/grants": {Tag: "permissions", Summary: "Grant a permission",
			Description: "To a user (user_id) or a group (group_id); on one object when object_type and object_id are given, else model-wide.",
			Request:     grantRequest{}, Response: taruvi.ObjectGrant{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s404, s409, s413, s415}},
		"POST /api/grants/revoke": {Tag: "permissions", Summary: "Revoke a grant",
			Request: grantRequest{}, Errors: []int{s400, s401, s403, s404, s413, s415}},

		"PATCH /api/tenant": {Tag: "tenants", Summary: "Set the tenant's CORS origins",
			Description: "Tenant owners only: the browser origins (scheme and host, such as an https origin of the tenant's frontend) allowed to call this tenant's API, besides the global ones.",
			Request:     TenantCORS{}, Response: Tenant{}, Errors: []int{s400, s401, s403, s404, s413, s415}},
		"GET /api/tenants": {Tag: "tenants", Summary: "List tenants",
			Description: "Platform admins on the platform host.", Response: []Tenant{}, Errors: []int{s401, s403, s404}},
		"POST /api/tenants": {Tag: "tenants", Summary: "Create a tenant",
			Description: "Provisions the schema, role and every tenant migration in one transaction; every replica serves the tenant within a second.",
			Request:     taruvi.TenantCreate{}, Response: Tenant{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s404, s409, s413, s415}},
		"PATCH /api/tenants/{schema}": {Tag: "tenants", Summary: "Set a tenant's request quota and CORS origins",
			Description: "request_quota is requests per minute for the whole tenant across every replica (0: none); over it, 429 RATE_LIMITED.",
			Path:        []param{{Name: "schema", Kind: taruvi.KindString, Description: "The tenant's schema name."}},
			Request:     taruvi.TenantSettings{}, Response: Tenant{}, Errors: []int{s400, s401, s403, s404, s413, s415}},
		"GET /api/history": {Tag: "history", Summary: "The history of one object",
			Description: "Newest first. The caller must be able to see the object (also after it was deleted).",
			Query: []param{
				{Name: "object_type", Kind: taruvi.KindEnum, Enum: historyTypes, Required: true, Description: "What kind of object."},
				{Name: "object_id", Kind: taruvi.KindString, Required: true, Description: "The object's id."},
			},
			List: &taruvi.HistoryListSpec, Response: taruvi.HistoryEntry{}, Errors: []int{s400, s401, s403, s404}},

		"GET /api/jobs": {Tag: "jobs", Summary: "List jobs (platform admins)",
			Description: "Newest first, on the platform host only. Continue a long list with after_id, the last id of a page.",
			Query: []param{
				{Name: "state", Kind: taruvi.KindEnum, Enum: jobStates, Description: "Only jobs in this state."},
				{Name: "kind", Kind: taruvi.KindString, Description: "Only jobs of this kind (send_email, generate_report, ...)."},
				{Name: "queue", Kind: taruvi.KindString, Description: "Only jobs of this queue."},
				{Name: "tenant", Kind: taruvi.KindString, Description: "Only jobs of this tenant (its schema)."},
				{Name: "limit", Kind: taruvi.KindInt, Description: "At most this many jobs (1 to 100, default 20)."},
				{Name: "after_id", Kind: taruvi.KindInt, Description: "Only jobs older than this id."},
			},
			Response: []*taruvi.Job{}, Errors: []int{s400, s401, s403, s404}},
		"GET /api/jobs/{id}": {Tag: "jobs", Summary: "Read a job",
			Description: "On a tenant host, the tenant's own jobs: all of them to owners, to others those their requests caused. On the platform host, any job (platform admins).",
			Path:        []param{idParam}, Response: taruvi.Job{}, Errors: []int{s401, s403, s404}},
		"POST /api/jobs/{id}/retry": {Tag: "jobs", Summary: "Run a job again (platform admins)",
			Description: "A finished, failed or scheduled job becomes available at once; a running job is left alone.",
			Path:        []param{idParam}, Response: taruvi.Job{}, Errors: []int{s401, s403, s404}},
		"POST /api/jobs/{id}/cancel": {Tag: "jobs", Summary: "Cancel a job (platform admins)",
			Description: "A job not yet finished is cancelled; a running one as soon as its worker hears of it.",
			Path:        []param{idParam}, Response: taruvi.Job{}, Errors: []int{s401, s403, s404}},

		"POST /api/reports": {Tag: "reports", Summary: "Request a report",
			Description: "Enqueues a generate_report job for a project the caller can see and returns the report with its job; poll GET /api/reports/{id}/ until ready.",
			Request:     reportCreateRequest{}, Response: taruvi.Report{}, Status: http.StatusAccepted, Errors: []int{s400, s401, s404, s413, s415}},
		"GET /api/reports/{id}": {Tag: "reports", Summary: "Read a report",
			Description: "Its job's state and errors; ready is true once the CSV can be downloaded. Visible to its requester and the tenant's owners.",
			Path:        []param{idParam}, Response: taruvi.Report{}, Errors: []int{s401, s404}},
		"GET /api/reports/{id}/download": {Tag: "reports", Summary: "Download a report",
			Description: "The CSV as an attachment; 409 while the report is not ready.",
			Path:        []param{idParam}, Response: FileContent{}, Raw: []string{"text/csv"}, Errors: []int{s401, s404, s409}},

		"GET /api/outbox": {Tag: "outbox", Summary: "List the outbox",
			Description: "Emails kept instead of sent while no SMTP server is configured (TARUVI_SMTP_URL), newest first. Tenant owners only.",
			List:        &taruvi.OutboxListSpec, Response: taruvi.Email{}, Errors: []int{s400, s401, s403, s404}},
	}
}

// security is the requirement of every operation that needs a credential:
// an access token, an API key or a session token.
var security = []map[string][]string{{"bearerAuth": {}}, {"apiKey": {}}, {"sessionToken": {}}}

// errorResponses names the component response of each error status.
var errorResponses = map[int]string{
	http.StatusBadRequest:            "BadRequest",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "NotFound",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "PayloadTooLarge",
	http.StatusUnsupportedMediaType:  "UnsupportedMediaType",
	http.StatusTooManyRequests:       "TooManyRequests",
}

// errorDescriptions say when each error response happens.
var errorDescriptions = map[string]string{
	"BadRequest":           "The request is malformed (BAD_REQUEST: malformed JSON, a query string with a semicolon or a bad escape) or breaks a rule (VALIDATION_ERROR, with a field map in errors), text that cannot be stored included: \\u0000, invalid UTF-8, half a surrogate pair.",
	"Unauthorized":         "No valid credential (UNAUTHORIZED).",
	"Forbidden":            "The credential lacks the permission (FORBIDDEN).",
	"NotFound":             "No such object, or not visible to the caller (NOT_FOUND).",
	"Conflict":             "The object exists already or changed meanwhile (CONFLICT).",
	"PayloadTooLarge":      "The body is over the size limit (PAYLOAD_TOO_LARGE).",
	"UnsupportedMediaType": "A body not sent as JSON: its Content-Type must be application/json or application/*+json, parameters allowed (UNSUPPORTED_MEDIA_TYPE).",
	"TooManyRequests":      "Throttled (RATE_LIMITED); Retry-After says when to try again.",
	"Error":                "Any other error: an unknown tenant host (404), a suspended tenant (403), a tenant being upgraded (503, with Retry-After), a method not allowed here (405) or an internal error (500, with a request id to quote).",
}

// errorCodes are the codes of the error envelope.
var errorCodes = []string{taruvi.EBADREQUEST, taruvi.EINVALID, taruvi.EUNAUTHORIZED, taruvi.EFORBIDDEN,
	taruvi.ENOTFOUND, taruvi.ECONFLICT, taruvi.ETOOLARGE, taruvi.EUNSUPPORTED, taruvi.ERATELIMITED, taruvi.EUNAVAILABLE, taruvi.EINTERNAL}

// errorComponents are the error responses, all bodies error envelopes.
func errorComponents() map[string]*docResponse {
	body := map[string]docMediaType{"application/json": {Schema: ref("ErrorEnvelope")}}
	retry := map[string]docHeader{"Retry-After": {Description: "Seconds to wait before trying again.",
		Schema: &schema{Type: "integer"}}}
	out := map[string]*docResponse{}
	for name, desc := range errorDescriptions {
		r := &docResponse{Description: desc, Content: body}
		if name == "TooManyRequests" || name == "Error" {
			r.Headers = retry
		}
		out[name] = r
	}
	return out
}

func securitySchemes() map[string]*securityScheme {
	return map[string]*securityScheme{
		"bearerAuth": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "An access token from POST /api/auth/jwt/token, valid 15 minutes on the tenant (or platform) that issued it: `Authorization: Bearer <access>`."},
		"apiKey": {Type: "apiKey", In: "header", Name: "Authorization",
			Description: "An API key from POST /api/auth/api-keys, sent with its scheme word: `Authorization: Api-Key <key>`."},
		"sessionToken": {Type: "apiKey", In: "header", Name: "X-Session-Token",
			Description: "A session token from POST /_allauth/app/v1/auth/login, valid on the tenant (or platform) that issued it until its session ends. " +
				"When a request carries several credentials the server goes by one: an API key, else an access token, else the session token."},
	}
}

// listParameters are the query parameters of a list over spec: paging,
// ordering, search and one parameter per filter field and operator.
func listParameters(spec taruvi.ListSpec) []*docParameter {
	one, maxSize, defSize := 1.0, float64(taruvi.MaxPageSize), taruvi.DefaultPageSize
	params := []*docParameter{
		{Name: "page", In: "query", Description: "The page, from 1.",
			Schema: &schema{Type: "integer", Minimum: &one, Default: 1}},
		{Name: "page_size", In: "query", Description: "Items per page.",
			Schema: &schema{Type: "integer", Minimum: &one, Maximum: &maxSize, Default: defSize}},
	}
	var order, search []string
	for _, f := range spec.Fields {
		if f.Order {
			order = append(order, f.Name)
		}
		if f.Search {
			search = append(search, f.Name)
		}
	}
	if len(order) > 0 {
		params = append(params, &docParameter{Name: "ordering", In: "query", Schema: &schema{Type: "string"},
			Description: "Comma-separated fields, each prefixed with - for descending order, of: " + strings.Join(order, ", ") + "."})
	}
	if len(search) > 0 {
		params = append(params, &docParameter{Name: "search", In: "query", Schema: &schema{Type: "string", MaxLength: 200},
			Description: "Text matched in: " + strings.Join(search, ", ") + "."})
	}
	for _, f := range spec.Fields {
		if !f.Filter {
			continue
		}
		for _, op := range opsFor(f.Kind) {
			params = append(params, filterParameter(f, op))
		}
	}
	return params
}

func filterParameter(f taruvi.Field, op string) *docParameter {
	p := &docParameter{Name: f.Name + "__" + op, In: "query", Schema: kindSchema(f.Kind, f.Enum)}
	switch op {
	case taruvi.OpEq:
		p.Name, p.Description = f.Name, "Equal to."
	case taruvi.OpIn:
		p.Description, p.Schema = "One of these comma-separated values (at most 100).", &schema{Type: "string"}
	case taruvi.OpNull:
		p.Description, p.Schema = "true: is null; false: is not null.", &schema{Type: "boolean"}
	default:
		p.Description = opDescriptions[op]
	}
	return p
}

var opDescriptions = map[string]string{
	taruvi.OpNe: "Not equal to.", taruvi.OpGt: "Greater than.", taruvi.OpGte: "Greater than or equal to.",
	taruvi.OpLt: "Less than.", taruvi.OpLte: "Less than or equal to.", taruvi.OpContains: "Contains (case-sensitive).",
	taruvi.OpIContains: "Contains (case-insensitive).", taruvi.OpStartsWith: "Starts with.", taruvi.OpEndsWith: "Ends with.",
}

// kindSchema is the schema of a parameter value of kind k.
func kindSchema(k taruvi.FieldKind, enum []string) *schema {
	switch k {
	case taruvi.KindInt:
		return &schema{Type: "integer", Format: "int64"}
	case taruvi.KindBool:
		return &schema{Type: "boolean"}
	case taruvi.KindTime:
		return &schema{Type: "string", Format: "date-time"}
	case taruvi.KindDate:
		return &schema{Type: "string", Format: "date"}
	case taruvi.KindEnum:
		return &schema{Type: "string", Enum: slices.Clone(enum)}
	}
	return &schema{Type: "string"}
}
