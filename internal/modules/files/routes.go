package files

import (
	"net/http"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/modules"
)

// Error statuses, named so the routes read as words.
const (
	s400 = http.StatusBadRequest
	s401 = http.StatusUnauthorized
	s403 = http.StatusForbidden
	s404 = http.StatusNotFound
	s413 = http.StatusRequestEntityTooLarge
)

// routes are the module's REST routes with their operations.
func (m *Module) routes() []taruvi.Route {
	return []taruvi.Route{
		{Pattern: "GET /api/files", Handler: m.handleFileList, Operation: taruvi.Operation{Tag: "files", Summary: "List files",
			Description: "The files of the projects the caller can see.",
			List:        &taruvi.FileListSpec, Response: taruvi.File{}, Errors: []int{s400, s401}}},
		{Pattern: "POST /api/files", Handler: m.handleFileUpload, Operation: taruvi.Operation{Tag: "files", Summary: "Upload a file",
			Description: "A multipart/form-data body: the project or task field (an id) and the file part with its filename, in either order. " +
				"A file after its field streams to storage; one before it waits in a temporary file on the server, " +
				"if the caller may add files to some project and the server has room for it (else 503 with Retry-After: send the field first). " +
				"Its size is limited by the server (TARUVI_MAX_UPLOAD_BYTES).",
			Request: fileUploadForm{}, Form: true, Response: taruvi.File{}, Status: http.StatusCreated,
			Errors: []int{s400, s401, s403, s404, s413}}},
		{Pattern: "GET /api/files/{id}", Handler: m.handleFileGet, Operation: taruvi.Operation{Tag: "files", Summary: "Read a file's metadata",
			Path: []taruvi.Param{modules.IDParam}, Response: taruvi.File{}, Errors: []int{s401, s404}}},
		{Pattern: "GET /api/files/{id}/download", Handler: m.handleFileDownload, Operation: taruvi.Operation{Tag: "files", Summary: "Download a file",
			Description: "The content as an attachment (Content-Disposition), with the file's content type; types a browser would run or render as a page are sent as application/octet-stream.",
			Path:        []taruvi.Param{modules.IDParam}, Response: api.FileContent{}, Raw: []string{"*/*"}, Errors: []int{s401, s404}}},
		{Pattern: "DELETE /api/files/{id}", Handler: m.handleFileDelete, Operation: taruvi.Operation{Tag: "files", Summary: "Delete a file",
			Path: []taruvi.Param{modules.IDParam}, Errors: []int{s401, s403, s404}}},
	}
}

// tags group the module's operations in the documentation.
var tags = []taruvi.APITag{{Name: "files", Description: "Files attached to a project or a task, kept in the blob store."}}
