package api

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
)

// An upload is POST /api/files/ with a multipart/form-data body: a project
// or task field (the id), then a file part. The body streams to the blob
// store as it arrives, so the fields must come before the file part; parts
// after it are not read.

// multipartSlack is what an upload's body may hold besides the file's
// bytes: boundaries, part headers and the project and task fields.
const multipartSlack = 64 << 10

// maxFieldBytes bounds the value of a field of the upload form.
const maxFieldBytes = 64

// sniffBytes is how much of a file http.DetectContentType looks at.
const sniffBytes = 512

func (a *API) handleFileList(w http.ResponseWriter, r *http.Request) error {
	q, err := parseList(r, taruvi.FileListSpec)
	if err != nil {
		return err
	}
	files, total, err := a.Files.ListFiles(r.Context(), q)
	if err != nil {
		return err
	}
	return list(w, "Files.", files, total, q)
}

// handleFileUpload reads the form's fields up to the file part and hands
// that part, unread, to the file service, which authorizes the upload
// before it reads a byte of the file.
func (a *API) handleFileUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, a.MaxUploadBytes+multipartSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		return taruvi.Errorf(taruvi.EBADREQUEST, "Send a multipart/form-data body with a project or task field and a file part.")
	}
	var in taruvi.FileUpload
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF { // the closing boundary, not a body cut short
			return fieldError("file", "This field is required: a part with the file and its filename.")
		}
		if err != nil {
			return a.uploadError(err)
		}
		name := part.FormName()
		if name == "" {
			return taruvi.Errorf(taruvi.EBADREQUEST, "Every part needs a Content-Disposition of form-data with a name.")
		}
		if seen[name] {
			return fieldError(name, "Give this field once.")
		}
		seen[name] = true
		switch name {
		case "project":
			if in.ProjectID, err = readIDField(part, name); err != nil {
				return err
			}
		case "task":
			if in.TaskID, err = readIDField(part, name); err != nil {
				return err
			}
		case "file":
			return a.uploadFile(w, r, part, in)
		default:
			return fieldError(name, "Unknown field: send project or task, then file.")
		}
	}
}

// uploadFile stores the file part with the fields read before it.
func (a *API) uploadFile(w http.ResponseWriter, r *http.Request, part *multipart.Part, in taruvi.FileUpload) error {
	if in.ProjectID == 0 && in.TaskID == 0 {
		return fieldError("project", "Send the project or task field before the file part.")
	}
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	filename, named := params["filename"]
	if err != nil || !named {
		return fieldError("file", "Send the file as a part with a filename.")
	}
	in.Name = filename
	body := bufio.NewReaderSize(part, sniffBytes)
	in.ContentType, err = contentTypeOf(part.Header.Get("Content-Type"), body)
	if err != nil {
		return a.uploadError(err)
	}
	in.Body = uploadBody{r: body, a: a}
	f, err := a.Files.UploadFile(r.Context(), in)
	if err != nil && r.Context().Err() != nil && taruvi.ErrorCode(err) == taruvi.EINTERNAL {
		// The client went away: nobody reads this, and it is no fault of ours.
		return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "The upload was cancelled.", Wrapped: err}
	}
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "File uploaded.", f)
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

// uploadError explains an error reading the upload's body: over the size
// limit, or cut short or malformed.
func (a *API) uploadError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &taruvi.Error{Code: taruvi.ETOOLARGE, Wrapped: err,
			Message: fmt.Sprintf("The file is larger than the limit of %d bytes.", a.MaxUploadBytes)}
	}
	return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "The multipart body is malformed or was cut short.", Wrapped: err}
}

// uploadBody is the file part as the file service reads it: errors of the
// request body are the client's (400, 413), not the server's.
type uploadBody struct {
	r io.Reader
	a *API
}

func (b uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.a.uploadError(err)
	}
	return n, err
}

func (a *API) handleFileGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := a.Files.FindFileByID(r.Context(), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "File.", f)
}

// handleFileDownload streams a file's content as an attachment. Once the
// status is sent, an error can only cut the body short, which the client
// sees against Content-Length.
func (a *API) handleFileDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rc, f, err := a.Files.OpenFile(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", servedContentType(f.ContentType))
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", attachment(f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if n, err := io.Copy(w, rc); err != nil {
		a.Log.WarnContext(r.Context(), "download cut short", "request_id", taruvi.RequestIDFromContext(r.Context()),
			"file_id", id, "sent", n, "size", f.Size, "error", err)
	}
	return nil
}

func (a *API) handleFileDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Files.DeleteFile(r.Context(), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "File deleted.", nil)
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

// attachment is the Content-Disposition of a download named name: the
// UTF-8 name as RFC 6266 and RFC 8187 have it, and an ASCII fallback for
// old clients.
func attachment(name string) string {
	var fallback, encoded strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			fallback.WriteByte('_')
		} else {
			fallback.WriteRune(r)
		}
	}
	const attrChars = "!#$&+-.^_`|~" // RFC 8187 attr-char besides letters and digits
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attrChars, c) >= 0 {
			encoded.WriteByte(c)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", c)
		}
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + encoded.String()
}
