package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/web"
)

// The OpenAPI 3.0 document, as much of it as Taruvi uses.
type (
	document struct {
		OpenAPI    string                `json:"openapi"`
		Info       docInfo               `json:"info"`
		Servers    []docServer           `json:"servers"`
		Tags       []docTag              `json:"tags"`
		Security   []map[string][]string `json:"security"`
		Paths      map[string]docPath    `json:"paths"`
		Components docComponents         `json:"components"`
	}
	docInfo struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Version     string `json:"version"`
	}
	docServer struct {
		URL         string `json:"url"`
		Description string `json:"description"`
	}
	docTag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	docPath      map[string]*docOperation // by lower-case method
	docOperation struct {
		OperationID string                  `json:"operationId"`
		Summary     string                  `json:"summary"`
		Description string                  `json:"description,omitempty"`
		Tags        []string                `json:"tags"`
		Security    *[]map[string][]string  `json:"security,omitempty"`
		Parameters  []*docParameter         `json:"parameters,omitempty"`
		RequestBody *docRequestBody         `json:"requestBody,omitempty"`
		Responses   map[string]*docResponse `json:"responses"`
	}
	docParameter struct {
		Name        string  `json:"name"`
		In          string  `json:"in"`
		Description string  `json:"description,omitempty"`
		Required    bool    `json:"required,omitempty"`
		Schema      *schema `json:"schema"`
	}
	docRequestBody struct {
		Required bool                    `json:"required"`
		Content  map[string]docMediaType `json:"content"`
	}
	docMediaType struct {
		Schema *schema `json:"schema"`
	}
	docResponse struct {
		Ref         string                  `json:"$ref,omitempty"`
		Description string                  `json:"description,omitempty"`
		Headers     map[string]docHeader    `json:"headers,omitempty"`
		Content     map[string]docMediaType `json:"content,omitempty"`
	}
	docHeader struct {
		Description string  `json:"description"`
		Schema      *schema `json:"schema"`
	}
	docComponents struct {
		Schemas         map[string]*schema         `json:"schemas"`
		Responses       map[string]*docResponse    `json:"responses"`
		SecuritySchemes map[string]*securityScheme `json:"securitySchemes"`
	}
	securityScheme struct {
		Type         string `json:"type"`
		Scheme       string `json:"scheme,omitempty"`
		BearerFormat string `json:"bearerFormat,omitempty"`
		In           string `json:"in,omitempty"`
		Name         string `json:"name,omitempty"`
		Description  string `json:"description"`
	}
)

// OpenAPI returns the OpenAPI 3.0 document of routes (mux patterns, as
// web.Server.Routes returns them) as indented JSON, with the operations of
// the core and of modules. Output is the same for the same routes,
// whatever their order. A route under /api/ without an operation is an
// error, so the document never leaves an API route out; other routes
// without one (another surface sharing the server) are not part of the
// API.
func OpenAPI(routes []string, modules ...taruvi.Module) ([]byte, error) {
	ops, allTags, err := moduleOperations(modules)
	if err != nil {
		return nil, err
	}
	routes = slices.Compact(slices.Sorted(slices.Values(routes)))
	doc := &document{
		OpenAPI: "3.0.3",
		Info: docInfo{Title: "Taruvi", Version: taruvi.Version,
			Description: "The REST API of a Taruvi tenant (or, on the platform host, of the platform). " +
				"Every path answers with or without its trailing slash; a tenant is addressed by its host " +
				"or by the prefix /sites/<schema>/. Success bodies are {status, message, data}; lists add " +
				"total and pagination; errors are {status, code, message, errors, request_id}."},
		Servers:  []docServer{{URL: "/", Description: "This host."}},
		Security: security,
		Paths:    map[string]docPath{},
	}
	for _, t := range allTags {
		doc.Tags = append(doc.Tags, docTag(t))
	}
	// Responses first, so that every type seen in one is documented with
	// its required fields, whatever order the routes come in.
	g := newSchemaGen()
	g.tags = allTags
	built := map[string]*docOperation{}
	for _, route := range routes {
		op, ok := ops[route]
		if !ok && !strings.Contains(route, " /api/") {
			continue // another surface on the same server (admin pages)
		} else if !ok {
			return nil, fmt.Errorf("route %q has no entry in the OpenAPI operations", route)
		}
		d, err := g.operation(route, op)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", route, err)
		}
		built[route] = d
	}
	g.required = false
	for _, route := range routes {
		if built[route] == nil {
			continue
		}
		if err := g.requestBody(built[route], ops[route]); err != nil {
			return nil, fmt.Errorf("route %q: %w", route, err)
		}
		method, path, _ := strings.Cut(route, " ")
		path = documentPath(path, ops[route].Exact)
		if doc.Paths[path] == nil {
			doc.Paths[path] = docPath{}
		}
		doc.Paths[path][strings.ToLower(method)] = built[route]
	}
	doc.Components = docComponents{Schemas: g.components, Responses: errorComponents(),
		SecuritySchemes: securitySchemes()}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // "<schema>" reads better than "\u003cschema\u003e"
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode the OpenAPI document: %w", err)
	}
	return out.Bytes(), nil
}

// withHistoryFamilies documents the run-time object types of families
// on GET /api/history: object_type becomes a string, one of the listed
// types or one beginning with a family's prefix, which an enum cannot say.
func withHistoryFamilies(ops map[string]operation, families []taruvi.HistoryFamily) {
	op, ok := ops["GET /api/history"]
	if !ok || len(families) == 0 {
		return
	}
	op.Query = slices.Clone(op.Query)
	for i, q := range op.Query {
		if q.Name != "object_type" {
			continue
		}
		var prefixes []string
		for _, f := range families {
			prefixes = append(prefixes, f.Prefix+"...")
		}
		q.Description = "What kind of object: one of " + strings.Join(q.Enum, ", ") + ", or a type beginning " +
			strings.Join(prefixes, " or ") + ", a module's object types made at run time."
		q.Kind, q.Enum = taruvi.KindString, nil
		op.Query[i] = q
	}
	ops["GET /api/history"] = op
}

// moduleOperations returns the operations of the core and of modules by
// route, and the tags of the document: the core's identity tags, the
// modules' in order, then the rest of the core's. A route or tag defined
// twice is an error.
func moduleOperations(modules []taruvi.Module) (map[string]operation, []taruvi.APITag, error) {
	ops := operations(taruvi.HistoryObjectTypes(modules))
	withHistoryFamilies(ops, taruvi.HistoryFamilies(modules))
	split := slices.IndexFunc(tags, func(t taruvi.APITag) bool { return t.Name == "history" })
	all := slices.Clone(tags[:split])
	for _, m := range modules {
		parts := m.Parts()
		for _, t := range parts.Tags {
			if slices.ContainsFunc(tags, func(c taruvi.APITag) bool { return c.Name == t.Name }) ||
				slices.ContainsFunc(all, func(c taruvi.APITag) bool { return c.Name == t.Name }) {
				return nil, nil, fmt.Errorf("module %s: tag %q is defined twice", m.MigrationSet().Name, t.Name)
			}
			all = append(all, t)
		}
		for _, r := range parts.Routes {
			if _, dup := ops[r.Pattern]; dup {
				return nil, nil, fmt.Errorf("module %s: route %q is defined twice", m.MigrationSet().Name, r.Pattern)
			}
			ops[r.Pattern] = r.Operation
		}
	}
	return ops, append(all, tags[split:]...), nil
}

// documentPath is the path as clients call it: with the trailing slash of
// the Taruvi SDKs under /api/.
func documentPath(path string, exact bool) string {
	path = strings.ReplaceAll(path, "...}", "}")
	if strings.HasPrefix(path, "/api/") && !exact {
		return path + "/"
	}
	return path
}

var paramRE = regexp.MustCompile(`\{([^}]*)\}`)

// pathParams returns the {names} of a path, in order.
func pathParams(path string) []string {
	var names []string
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		if name := strings.TrimSuffix(m[1], "..."); name != "$" {
			names = append(names, name)
		}
	}
	return names
}

// operationID makes an id from a route: "GET /api/users/{id}" is
// "get_api_users_id".
func operationID(route string) string {
	id := strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, route))
	for strings.Contains(id, "__") {
		id = strings.ReplaceAll(id, "__", "_")
	}
	return strings.Trim(id, "_")
}

// operation documents one route: parameters and responses. Request bodies
// come later (requestBody).
func (g *schemaGen) operation(route string, op operation) (*docOperation, error) {
	_, path, _ := strings.Cut(route, " ")
	d := &docOperation{OperationID: operationID(route), Summary: op.Summary, Description: op.Description,
		Tags: []string{op.Tag}, Responses: map[string]*docResponse{}}
	if !slices.ContainsFunc(g.tags, func(t taruvi.APITag) bool { return t.Name == op.Tag }) {
		return nil, fmt.Errorf("unknown tag %q", op.Tag)
	}
	if op.Public {
		d.Security = &[]map[string][]string{}
	}
	declared := make([]string, 0, len(op.Path))
	for _, p := range op.Path {
		declared = append(declared, p.Name)
		d.Parameters = append(d.Parameters, &docParameter{Name: p.Name, In: "path", Required: true,
			Description: p.Description, Schema: kindSchema(p.Kind, p.Enum)})
	}
	if names := pathParams(path); !slices.Equal(names, declared) {
		return nil, fmt.Errorf("path parameters %v, declared %v", names, declared)
	}
	for _, p := range op.Query {
		d.Parameters = append(d.Parameters, &docParameter{Name: p.Name, In: "query", Required: p.Required,
			Description: p.Description, Schema: kindSchema(p.Kind, p.Enum)})
	}
	if op.List != nil {
		d.Parameters = append(d.Parameters, listParameters(*op.List)...)
	}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok, err := g.successResponse(op, status)
	if err != nil {
		return nil, err
	}
	d.Responses[strconv.Itoa(status)] = ok
	for _, s := range op.Errors {
		name, found := errorResponses[s]
		if !found {
			return nil, fmt.Errorf("no error response for status %d", s)
		}
		if strings.HasPrefix(path, "/_allauth/") {
			res, err := g.allauthError(s)
			if err != nil {
				return nil, err
			}
			d.Responses[strconv.Itoa(s)] = res
			continue
		}
		d.Responses[strconv.Itoa(s)] = &docResponse{Ref: "#/components/responses/" + name}
	}
	d.Responses["default"] = &docResponse{Ref: "#/components/responses/Error"}
	return d, nil
}

// allauthError is the error response of status on an allauth route, in
// allauth's shape rather than the error envelope: 401 says who may sign
// in next, the others list what is wrong.
func (g *schemaGen) allauthError(status int) (*docResponse, error) {
	var body any = allauthErrors{}
	desc := errorDescriptions[errorResponses[status]]
	if status == http.StatusBadRequest {
		desc = "Wrong credentials (email_password_mismatch), a missing field (required) or a malformed body (invalid)."
	}
	desc += " In allauth's shape: {status, errors: [{message, code, param}]}."
	if status == http.StatusUnauthorized {
		body, desc = allauthUnauthenticated{}, "Not signed in: no credential, or its session ended."
	}
	s, err := g.schemaOf(body)
	if err != nil {
		return nil, err
	}
	return &docResponse{Description: desc, Content: map[string]docMediaType{"application/json": {Schema: s}}}, nil
}

// successResponse is the answer of a route that worked: an envelope around
// the data, a list envelope, or a raw body.
func (g *schemaGen) successResponse(op operation, status int) (*docResponse, error) {
	if len(op.Raw) > 0 {
		s, err := g.schemaOf(op.Response)
		if err != nil {
			return nil, err
		}
		res := &docResponse{Description: http.StatusText(status), Content: map[string]docMediaType{}}
		for _, mt := range op.Raw {
			res.Content[mt] = docMediaType{Schema: s}
		}
		return res, nil
	}
	envelope, data := "SuccessEnvelope", (*schema)(nil)
	switch {
	case op.List != nil:
		item, err := g.schemaOf(op.Response)
		if err != nil {
			return nil, err
		}
		envelope, data = "ListEnvelope", &schema{Type: "array", Items: item}
	case op.Response != nil:
		s, err := g.schemaOf(op.Response)
		if err != nil {
			return nil, err
		}
		data = s
	}
	body := ref(envelope)
	if data != nil {
		body = &schema{AllOf: []*schema{ref(envelope), {Type: "object", Properties: map[string]*schema{"data": data}}}}
	}
	return &docResponse{Description: http.StatusText(status), Content: map[string]docMediaType{"application/json": {Schema: body}}}, nil
}

// requestBody documents the JSON body of op on d.
func (g *schemaGen) requestBody(d *docOperation, op operation) error {
	if op.Request == nil {
		return nil
	}
	s, err := g.schemaOf(op.Request)
	if err != nil {
		return err
	}
	media := "application/json"
	if op.Form {
		media = "multipart/form-data"
	}
	d.RequestBody = &docRequestBody{Required: !op.OptionalBody, Content: map[string]docMediaType{media: {Schema: s}}}
	return nil
}

// schema is an OpenAPI 3.0 schema object.
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	MaxLength            int                `json:"maxLength,omitempty"`
	Default              any                `json:"default,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
	AllOf                []*schema          `json:"allOf,omitempty"`
}

func ref(name string) *schema { return &schema{Ref: "#/components/schemas/" + name} }

// schemaGen derives schemas from Go types the way encoding/json writes
// them. Named struct types become components, referenced by name.
type schemaGen struct {
	components map[string]*schema
	types      map[string]reflect.Type // component name -> its type, to catch two types with one name
	// required marks fields without omitempty as required: true for
	// response types (encoding/json always writes them); request bodies
	// are decoded leniently, so nothing in them is required.
	required bool
	tags     []taruvi.APITag // every operation's tag must be one of these
}

func newSchemaGen() *schemaGen {
	g := &schemaGen{components: map[string]*schema{}, types: map[string]reflect.Type{}, required: true}
	// The envelopes, named by hand: ListEnvelope is generic.
	g.components["SuccessEnvelope"] = g.mustStruct(reflect.TypeFor[web.SuccessEnvelope]())
	g.components["ListEnvelope"] = g.mustStruct(reflect.TypeFor[ListEnvelope[any]]())
	g.components["ErrorEnvelope"] = g.mustStruct(reflect.TypeFor[web.ErrorEnvelope]())
	g.components["SuccessEnvelope"].Properties["status"].Enum = []string{"success"}
	g.components["ListEnvelope"].Properties["status"].Enum = []string{"success"}
	g.components["ErrorEnvelope"].Properties["status"].Enum = []string{"error"}
	g.components["ErrorEnvelope"].Properties["code"].Enum = errorCodes
	g.components["ErrorEnvelope"].Properties["errors"].Description = "What is wrong with each input field, by name."
	return g
}

func (g *schemaGen) mustStruct(t reflect.Type) *schema {
	s, err := g.structSchema(t)
	if err != nil {
		panic(err) // the envelopes are fixed types: a failure is a bug here
	}
	return s
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	rawType         = reflect.TypeFor[json.RawMessage]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	wireValueType   = reflect.TypeFor[wireValue]()
	textType        = reflect.TypeFor[encoding.TextMarshaler]()
)

// wireValue is implemented by types that read or write their own JSON as
// the JSON of another type, which documents them.
type wireValue interface {
	wireType() reflect.Type
}

// wireType documents an optional member as its value.
func (Optional[T]) wireType() reflect.Type { return reflect.TypeFor[T]() }

// schemaOf returns the schema of v's type. A pointer at the top, or as a
// slice or map element, documents what it points to; a pointer field is
// nullable.
func (g *schemaGen) schemaOf(v any) (*schema, error) {
	if v == nil {
		return &schema{}, nil
	}
	return g.typeSchema(reflect.TypeOf(v))
}

func (g *schemaGen) typeSchema(t reflect.Type) (*schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return &schema{Type: "string", Format: "date-time"}, nil
	case t == reflect.TypeFor[FileContent]():
		return &schema{Type: "string", Format: "binary"}, nil
	case t == rawType:
		return &schema{Nullable: true}, nil // any JSON; a nil RawMessage is written as null
	case t.Implements(wireValueType):
		return g.typeSchema(reflect.Zero(t).Interface().(wireValue).wireType())
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType),
		reflect.PointerTo(t).Implements(unmarshalerType):
		return nil, fmt.Errorf("type %s reads or writes its own JSON: give it a wireType method", t)
	case t.Implements(textType) || reflect.PointerTo(t).Implements(textType):
		return &schema{Type: "string"}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: "boolean"}, nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16:
		return &schema{Type: "integer", Format: "int32"}, nil
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer", Format: "int64"}, nil
	case reflect.Float32:
		return &schema{Type: "number", Format: "float"}, nil
	case reflect.Float64:
		return &schema{Type: "number", Format: "double"}, nil
	case reflect.String:
		return &schema{Type: "string"}, nil
	case reflect.Interface:
		return &schema{Nullable: true}, nil // any value, null included
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{Type: "string", Format: "byte"}, nil
		}
		items, err := g.typeSchema(t.Elem())
		return &schema{Type: "array", Items: items}, err
	case reflect.Map:
		values, err := g.typeSchema(t.Elem())
		return &schema{Type: "object", AdditionalProperties: values}, err
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t)
		}
		return g.component(t)
	}
	return nil, fmt.Errorf("type %s has no JSON form", t)
}

// component returns a reference to the component of named struct type t,
// defining it on first use.
func (g *schemaGen) component(t reflect.Type) (*schema, error) {
	name := componentName(t)
	if prev, ok := g.types[name]; ok {
		if prev != t {
			return nil, fmt.Errorf("types %s and %s would both be schema %q: rename one", prev, t, name)
		}
		return ref(name), nil
	}
	if _, taken := g.components[name]; taken {
		return nil, fmt.Errorf("type %s would replace schema %q: rename it", t, name)
	}
	g.types[name] = t
	g.components[name] = &schema{} // a recursive type finds its name taken
	s, err := g.structSchema(t)
	if err != nil {
		return nil, err
	}
	g.components[name] = s
	return ref(name), nil
}

// componentName names a struct type's schema: "User"; "refreshRequest" is
// "RefreshRequest"; a generic "Page[taruvi.Project]" is "PageOfProject".
func componentName(t reflect.Type) string {
	name, args, generic := strings.Cut(t.Name(), "[")
	if generic {
		for _, arg := range strings.Split(strings.TrimSuffix(args, "]"), ",") {
			arg = arg[strings.LastIndexAny(arg, "./*")+1:]
			name += "Of" + strings.ToUpper(arg[:1]) + arg[1:]
		}
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// structSchema is the object encoding/json writes for struct type t:
// exported fields by their json names, embedded structs flattened.
func (g *schemaGen) structSchema(t reflect.Type) (*schema, error) {
	s := &schema{Type: "object", Properties: map[string]*schema{}}
	if err := g.addFields(s, t); err != nil {
		return nil, err
	}
	return s, nil
}

func (g *schemaGen) addFields(s *schema, t reflect.Type) error {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := g.addFields(s, ft); err != nil {
					return err
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := s.Properties[name]; dup {
			continue // the shallower field wins, as in encoding/json
		}
		fs, err := g.fieldSchema(ft, opts)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		s.Properties[name] = fs
		omit := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		if g.required && !omit {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

// fieldSchema is the schema of a field of type t with json options opts:
// a pointer is nullable; ",string" writes a number or bool as a string.
func (g *schemaGen) fieldSchema(t reflect.Type, opts string) (*schema, error) {
	s, err := g.typeSchema(t)
	if err != nil {
		return nil, err
	}
	if slices.Contains(strings.Split(opts, ","), "string") && s.Type != "object" && s.Type != "array" {
		s = &schema{Type: "string"}
	}
	if t.Kind() != reflect.Pointer {
		return s, nil
	}
	if s.Ref != "" {
		return &schema{AllOf: []*schema{s}, Nullable: true}, nil
	}
	nullable := *s
	nullable.Nullable = true
	return &nullable, nil
}
