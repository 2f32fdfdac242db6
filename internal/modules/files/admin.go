package files

import (
	"embed"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/admin"
	"taruvi/internal/web"
)

// The module's tenant admin pages: the list of files with the upload
// form, downloads and deletes, in the admin shell.

//go:embed templates
var templateFiles embed.FS

// adminPages are the module's tenant admin pages.
func (m *Module) adminPages() []taruvi.AdminPage {
	return []taruvi.AdminPage{
		{Pattern: "GET /admin/files", Handler: m.handleAdminFileList},
		{Pattern: "POST /admin/files", Handler: m.handleAdminFileUpload, Streamed: true},
		{Pattern: "GET /admin/files/{id}/download", Handler: m.handleAdminFileDownload},
		{Pattern: "POST /admin/files/{id}/delete", Handler: m.handleAdminFileDelete},
	}
}

// projectChoices is the first page of visible projects, newest first, for
// the upload form's picker.
func (m *Module) projectChoices(r *http.Request) ([]*taruvi.Project, error) {
	projects, _, err := m.projects.ListProjects(r.Context(), taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize})
	return projects, err
}

// filesPage is the list of visible files with the upload form.
type filesPage struct {
	admin.Page
	Files    []*taruvi.File
	List     admin.ListView
	Projects []*taruvi.Project
	Names    map[int64]string
	Form     admin.Form
}

func (m *Module) handleAdminFileList(w http.ResponseWriter, r *http.Request) error {
	return m.showFiles(w, r, http.StatusOK, admin.Form{})
}

func (m *Module) showFiles(w http.ResponseWriter, r *http.Request, status int, f admin.Form) error {
	q, view, err := admin.ParseList(r, taruvi.FileListSpec, "project_id")
	if err != nil {
		return err
	}
	files, total, err := m.files.ListFiles(r.Context(), q)
	if err != nil {
		return err
	}
	projects, err := m.projectChoices(r)
	if err != nil {
		return err
	}
	return admin.Render(w, r, status, "files/files", &filesPage{Page: admin.PageFor(r, "Files", "files"), Files: files,
		List: view.WithTotal(total, q.PageSize), Projects: projects, Names: admin.UserNames(r), Form: f})
}

// handleAdminFileUpload hands a multipart upload to the file service, its
// file before or after its fields. Once the CSRF token and the project
// are read, the file streams as it arrives; a file sent before them waits
// in a temporary file (web.ReadUpload) if the user may upload files at
// all, and is kept only if the token is good.
func (m *Module) handleAdminFileUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, m.maxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return taruvi.Errorf(taruvi.EBADREQUEST, "Send the upload form as multipart/form-data.")
	}
	fields := map[string]string{}
	err = web.ReadUpload(mr, web.Upload{MaxBytes: m.maxUploadBytes, Spools: m.spools,
		Admit: func() error { return m.files.CanUpload(r.Context()) },
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
			if err := admin.CheckCSRF(r, fields["csrf"]); err != nil {
				return err
			}
			projectID, _ := strconv.ParseInt(fields["project_id"], 10, 64)
			f, err := m.files.UploadFile(r.Context(), taruvi.FileUpload{Name: part.FileName(),
				ContentType: part.Header.Get("Content-Type"), ProjectID: projectID, Body: body})
			if err == nil {
				err = admin.Redirect(w, r, "/admin/files/", "File "+f.Name+" uploaded.")
			}
			return err
		},
	})
	fm := admin.Form{Values: map[string][]string{"project_id": {fields["project_id"]}}}
	if errors.Is(err, web.ErrNoFile) {
		if err := admin.CheckCSRF(r, fields["csrf"]); err != nil {
			return err
		}
		err = &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid file.", Fields: map[string]string{"file": "Choose a file."}}
	}
	if err == nil || !fm.Fail(err) {
		return err
	}
	return m.showFiles(w, r, admin.FormErrorStatus(err), fm)
}

func (m *Module) handleAdminFileDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := admin.PathID(r, "id")
	if err != nil {
		return err
	}
	body, f, err := m.files.OpenFile(r.Context(), id)
	if err != nil {
		return err
	}
	admin.SendAttachment(w, body, f.ContentType, &f.Size, f.Name)
	return nil
}

func (m *Module) handleAdminFileDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := admin.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := m.files.DeleteFile(r.Context(), id); err != nil {
		return err
	}
	return admin.Redirect(w, r, "/admin/files/", "File deleted.")
}

// projectPanels is the slot of the projects module's project page
// (projects.ProjectPanels); a module names a slot, never imports another
// module.
const projectPanels = "projects/project"

// projectPanel is the files of one project on its page.
type projectPanel struct {
	ProjectID int64
	Files     []*taruvi.File
	Names     map[int64]string
}

// renderProjectPanel is the module's panel on a project's page: its files
// and a link to the upload form.
func (m *Module) renderProjectPanel(w io.Writer, r *http.Request, projectID int64) error {
	files, _, err := m.files.ListFiles(r.Context(), taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize,
		Filters: []taruvi.Filter{{Field: "project_id", Op: taruvi.OpEq, Value: projectID}}})
	if err != nil {
		return err
	}
	return admin.RenderPanel(w, r, "files/project_files", &projectPanel{ProjectID: projectID, Files: files, Names: admin.UserNames(r)})
}
