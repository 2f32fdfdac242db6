package admin

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/web"
)

// filesPage is the list of visible files with the upload form.
type filesPage struct {
	Page
	Files    []*taruvi.File
	List     listView
	Projects []*taruvi.Project
	Names    map[int64]string
	Form     form
}

func (a *Admin) handleFileList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showFiles(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showFiles(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	q, view, err := parseList(r, taruvi.FileListSpec, "project_id")
	if err != nil {
		return err
	}
	files, total, err := a.Files.ListFiles(r.Context(), q)
	if err != nil {
		return err
	}
	projects, err := a.projectChoices(r)
	if err != nil {
		return err
	}
	a.render(w, r, status, "files", &filesPage{Page: rq.page("Files", "files"), Files: files, List: view.withTotal(total, q.PageSize),
		Projects: projects, Names: a.userNames(r), Form: f})
	return nil
}

// handleFileUpload hands a multipart upload to the file service, its
// file before or after its fields. Once the CSRF token and the project
// are read, the file streams as it arrives; a file sent before them waits
// in a temporary file (web.ReadUpload) if the user may upload files at
// all, and is kept only if the token is good.
func (a *Admin) handleFileUpload(w http.ResponseWriter, r *http.Request, rq *request) error {
	r.Body = http.MaxBytesReader(w, r.Body, a.MaxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return taruvi.Errorf(taruvi.EBADREQUEST, "Send the upload form as multipart/form-data.")
	}
	fields := map[string]string{}
	err = web.ReadUpload(mr, web.Upload{MaxBytes: a.MaxUploadBytes, Spools: a.Spools,
		Admit: func() error { return a.Files.CanUpload(r.Context()) },
		Field: func(part *multipart.Part) error {
			b, _ := io.ReadAll(io.LimitReader(part, 1024))
			fields[part.FormName()] = strings.TrimSpace(string(b))
			return nil
		},
		Ready: func() bool {
			_, token := fields["csrf"]
			_, project := fields["project_id"]
			return token && project
		},
		Store: func(part *multipart.Part, body io.Reader) error {
			if err := a.checkCSRF(r, rq, fields["csrf"]); err != nil {
				return err
			}
			projectID, _ := strconv.ParseInt(fields["project_id"], 10, 64)
			f, err := a.Files.UploadFile(r.Context(), taruvi.FileUpload{Name: part.FileName(),
				ContentType: part.Header.Get("Content-Type"), ProjectID: projectID, Body: body})
			if err == nil {
				err = a.redirect(w, r, "/admin/files/", "File "+f.Name+" uploaded.")
			}
			return err
		},
	})
	fm := form{Values: map[string][]string{"project_id": {fields["project_id"]}}}
	if errors.Is(err, web.ErrNoFile) {
		if err := a.checkCSRF(r, rq, fields["csrf"]); err != nil {
			return err
		}
		err = &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid file.", Fields: map[string]string{"file": "Choose a file."}}
	}
	if err == nil || !fm.Fail(err) {
		return err
	}
	return a.showFiles(w, r, rq, web400(err), fm)
}

// web400 is the status of a form error: 413 for a file too large, else
// 400.
func web400(err error) int {
	if taruvi.ErrorCode(err) == taruvi.ETOOLARGE {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (a *Admin) handleFileDownload(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	body, f, err := a.Files.OpenFile(r.Context(), id)
	if err != nil {
		return err
	}
	sendAttachment(w, body, f.ContentType, &f.Size, f.Name)
	return nil
}

// sendAttachment streams body as a download named name, then closes it;
// size is nil when unknown.
func sendAttachment(w http.ResponseWriter, body io.ReadCloser, contentType string, size *int64, name string) {
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", contentType)
	if size != nil {
		h.Set("Content-Length", strconv.FormatInt(*size, 10))
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "sandbox")
	_, _ = io.Copy(w, body)
}

func (a *Admin) handleFileDelete(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Files.DeleteFile(r.Context(), id); err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/files/", "File deleted.")
}

// handleHistory shows the history of one object of the tenant.
func (a *Admin) handleHistory(w http.ResponseWriter, r *http.Request, rq *request) error {
	objectType, objectID := r.PathValue("type"), r.PathValue("id")
	q, view, err := parseList(r, taruvi.HistoryListSpec)
	if err != nil {
		return err
	}
	entries, total, err := a.History.ListHistory(r.Context(), objectType, objectID, q)
	if err != nil {
		return err
	}
	heading := "History of " + objectType + " " + objectID
	back := map[string]string{taruvi.ObjectProject: "/admin/projects/" + objectID + "/", taruvi.ObjectUser: "/admin/users/" + objectID + "/"}[objectType]
	a.render(w, r, http.StatusOK, "history", &historyPage{Page: rq.page(heading, "history"), Heading: heading,
		Entries: a.withActors(r, entries), List: view.withTotal(total, q.PageSize), Back: back})
	return nil
}
