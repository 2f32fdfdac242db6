package files

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/api"
	"taruvi/internal/web"
)

// An upload is POST /api/files/ with a multipart/form-data body: a project
// or task field (the id) and a file part, in either order. A file after
// its field streams to the blob store as it arrives; one before waits in
// a temporary file until the fields are read (web.ReadUpload), if the
// caller may upload files at all and few enough others wait.

// multipartSlack is what an upload's body may hold besides the file's
// bytes: boundaries, part headers and the project and task fields.
const multipartSlack = 64 << 10

// maxFieldBytes bounds the value of a field of the upload form.
const maxFieldBytes = 64

// fileUploadForm is the multipart body of POST /api/files/: the project or
// task field and the file part, in either order.
type fileUploadForm struct {
	Project int64           `json:"project,omitempty"`
	Task    int64           `json:"task,omitempty"`
	File    api.FileContent `json:"file"`
}

// sniffBytes is how much of a file http.DetectContentType looks at.
const sniffBytes = 512

func (m *Module) handleFileList(w http.ResponseWriter, r *http.Request) error {
	q, err := api.ParseList(r, taruvi.FileListSpec)
	if err != nil {
		return err
	}
	files, total, err := m.files.ListFiles(r.Context(), q)
	if err != nil {
		return err
	}
	return api.WriteList(w, "Files.", files, total, q)
}

// handleFileUpload reads the form's fields and file, in either order. A
// file after its fields streams to the file service, which authorizes the
// upload before it reads a byte of the file. A file before them is read,
// into a temporary file, only once the caller may upload files to some
// project (CanUpload) and Spools has room; the file service authorizes its
// project once the fields are read, before it is stored.
func (m *Module) handleFileUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, m.maxUploadBytes+multipartSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		return taruvi.Errorf(taruvi.EBADREQUEST, "Send a multipart/form-data body with a project or task field and a file part.")
	}
	var in taruvi.FileUpload
	var f *taruvi.File
	seen := map[string]bool{}
	err = web.ReadUpload(mr, web.Upload{MaxBytes: m.maxUploadBytes, Spools: m.spools,
		Admit: func() error { return m.files.CanUpload(r.Context()) },
		Field: func(part *multipart.Part) error { return readUploadField(part, &in, seen) },
		Ready: func() bool { return in.ProjectID != 0 || in.TaskID != 0 },
		Store: func(part *multipart.Part, body io.Reader) (err error) {
			f, err = m.uploadFile(r, part, body, in)
			return err
		},
	})
	if errors.Is(err, web.ErrNoFile) {
		return fieldError("file", "This field is required: a part with the file and its filename.")
	}
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusCreated, "File uploaded.", f)
}

// readUploadField reads a field of the upload form into in.
func readUploadField(part *multipart.Part, in *taruvi.FileUpload, seen map[string]bool) (err error) {
	name := part.FormName()
	switch {
	case name == "":
		return taruvi.Errorf(taruvi.EBADREQUEST, "Every part needs a Content-Disposition of form-data with a name.")
	case seen[name]:
		return fieldError(name, "Give this field once.")
	case name == "project":
		in.ProjectID, err = readIDField(part, name)
	case name == "task":
		in.TaskID, err = readIDField(part, name)
	default:
		return fieldError(name, "Unknown field: send project or task, and file.")
	}
	seen[name] = true
	return err
}

// uploadFile stores the file of part, whose content is body, with the
// form's fields in.
func (m *Module) uploadFile(r *http.Request, part *multipart.Part, body io.Reader, in taruvi.FileUpload) (*taruvi.File, error) {
	if in.ProjectID == 0 && in.TaskID == 0 {
		return nil, fieldError("project", "This field is required: the project or task the file belongs to.")
	}
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	filename, named := params["filename"]
	if err != nil || !named {
		return nil, fieldError("file", "Send the file as a part with a filename.")
	}
	in.Name = filename
	buffered := bufio.NewReaderSize(body, sniffBytes)
	if in.ContentType, err = contentTypeOf(part.Header.Get("Content-Type"), buffered); err != nil {
		return nil, err
	}
	in.Body = buffered
	f, err := m.files.UploadFile(r.Context(), in)
	if err != nil && r.Context().Err() != nil && taruvi.ErrorCode(err) == taruvi.EINTERNAL {
		// The client went away: nobody reads this, and it is no fault of ours.
		return nil, &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "The upload was cancelled.", Wrapped: err}
	}
	return f, err
}

// contentTypeOf returns the type a file is kept with: the one the client
// sent for the part, unless it sent none, a malformed one or the generic
// application/octet-stream (as most tools do for any file), in which case
// it is detected from the first 512 bytes, peeked without consuming them.
func contentTypeOf(sent string, body *bufio.Reader) (string, error) {
	if ct := taruvi.CleanContentType(sent); ct != taruvi.DefaultContentType {
		return ct, nil
	}
	head, err := body.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if len(head) == 0 {
		return taruvi.DefaultContentType, nil
	}
	return taruvi.CleanContentType(http.DetectContentType(head)), nil
}

// readIDField reads the value of a project or task field: an id, or
// nothing (as a form with an empty field sends).
func readIDField(part *multipart.Part, name string) (int64, error) {
	raw, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return 0, taruvi.Errorf(taruvi.EBADREQUEST, "Malformed multipart body.")
	}
	v := strings.TrimSpace(string(raw))
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fieldError(name, fmt.Sprintf("Use the id of a %s.", name))
	}
	return id, nil
}

// fieldError is a validation error of one field of the upload form.
func fieldError(field, problem string) error {
	return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid file.", Fields: map[string]string{field: problem}}
}

func (m *Module) handleFileGet(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	f, err := m.files.FindFileByID(r.Context(), id)
	if err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "File.", f)
}

// handleFileDownload streams a file's content as an attachment. Once the
// status is sent, an error can only cut the body short, which the client
// sees against Content-Length.
func (m *Module) handleFileDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	rc, f, err := m.files.OpenFile(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", servedContentType(f.ContentType))
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", api.Attachment(f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if n, err := io.Copy(w, rc); err != nil {
		m.log.WarnContext(r.Context(), "download cut short", "request_id", taruvi.RequestIDFromContext(r.Context()),
			"file_id", id, "sent", n, "size", f.Size, "error", err)
	}
	return nil
}

func (m *Module) handleFileDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := m.files.DeleteFile(r.Context(), id); err != nil {
		return err
	}
	return api.OK(w, http.StatusOK, "File deleted.", nil)
}

// servedContentType is the Content-Type a download is served with: the
// stored type, except for types a browser could render as a page of this
// origin or run (HTML, XML and SVG, scripts), which go as
// application/octet-stream so that an uploaded file can never act in the
// API's origin. The file's metadata keeps the stored type.
func servedContentType(stored string) string {
	mediaType, _, err := mime.ParseMediaType(stored)
	if err != nil {
		return taruvi.DefaultContentType
	}
	switch {
	case mediaType == "text/html", mediaType == "text/xml", mediaType == "application/xml", mediaType == "text/xsl",
		strings.HasSuffix(mediaType, "+xml"), // application/xhtml+xml, image/svg+xml, ...
		strings.Contains(mediaType, "javascript"), strings.Contains(mediaType, "ecmascript"),
		strings.HasPrefix(mediaType, "multipart/"), mediaType == "application/x-shockwave-flash":
		return taruvi.DefaultContentType
	}
	return stored
}
