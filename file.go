package taruvi

import (
	"context"
	"io"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Permission codenames of the files app. They are checked on the file's
// project: a grant on a project covers its files. Seeing a file takes
// seeing its project.
const (
	PermAddFile    = "files.add_file"
	PermDeleteFile = "files.delete_file"
)

// MaxFileNameBytes is the longest file name kept, in bytes of UTF-8.
const MaxFileNameBytes = 255

// DefaultContentType is the content type of a file whose type is unknown.
const DefaultContentType = "application/octet-stream"

// File is an uploaded file of a project, or of a task of that project
// (ProjectID is then the task's project). Its content lives in the blob
// store under a key that only the store knows and never shows.
type File struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"` // bytes
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"` // hex
	ProjectID   int64     `json:"project_id"`
	TaskID      *int64    `json:"task_id"`
	UploadedBy  *int64    `json:"uploaded_by"` // nil for the command line, or once the user is deleted
	CreatedAt   time.Time `json:"created_at"`
}

// FileUpload is the input of FileService.UploadFile. Give ProjectID, or
// TaskID, or both (the task must then be in the project); zero means not
// given. Body is read once, as it comes, and never held whole in memory.
// Validation errors name the fields of the upload form: file, project,
// task.
type FileUpload struct {
	Name        string // as the client sent it; Validate cleans it
	ContentType string // as the client sent it; empty or malformed means DefaultContentType
	ProjectID   int64
	TaskID      int64
	Body        io.Reader
}

// Validate cleans the name (CleanFileName) and the content type and checks
// that the file has a project or task and a body.
func (in *FileUpload) Validate() error {
	fields := map[string]string{}
	name, err := CleanFileName(in.Name)
	if err != nil {
		fields["file"] = err.Error()
	}
	in.Name = name
	in.ContentType = CleanContentType(in.ContentType)
	switch {
	case in.ProjectID < 0:
		fields["project"] = "Use the id of a project."
	case in.TaskID < 0:
		fields["task"] = "Use the id of a task."
	case in.ProjectID == 0 && in.TaskID == 0:
		fields["project"] = "Give the project or the task the file belongs to."
	}
	if in.Body == nil {
		fields["file"] = "This field is required."
	}
	return invalid("Invalid file.", fields)
}

// fileNameProblem is what is wrong with a file name, in words for the
// caller.
type fileNameProblem string

func (p fileNameProblem) Error() string { return string(p) }

// CleanFileName returns the name a file is kept under: the last element of
// name, cut after its last slash or backslash (browsers of some systems
// send a whole path), without surrounding spaces. It refuses an empty name,
// "." and "..", invalid UTF-8, control characters, the bidirectional
// controls that make "gpj.exe" read as "exe.jpg", and names over
// MaxFileNameBytes.
func CleanFileName(name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "", name == ".", name == "..":
		return "", fileNameProblem("Give the file a name.")
	case !utf8.ValidString(name):
		return "", fileNameProblem("Use a file name of valid UTF-8.")
	case len(name) > MaxFileNameBytes:
		return "", fileNameProblem("Use a file name of at most 255 bytes.")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) >= 0:
		return "", fileNameProblem("Remove the control characters from the file name.")
	}
	return name, nil
}

// CleanContentType returns contentType as a well-formed media type in
// lower case with its parameters, or DefaultContentType when it is empty,
// malformed or longer than 255 bytes.
func CleanContentType(contentType string) string {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.Contains(mediaType, "/") {
		return DefaultContentType
	}
	clean := mime.FormatMediaType(mediaType, params)
	if clean == "" || len(clean) > 255 {
		return DefaultContentType
	}
	return clean
}

// FileListSpec is what file lists filter, order and search by.
var FileListSpec = ListSpec{
	Fields: []Field{
		{Name: "id", Kind: KindInt, Filter: true, Order: true},
		{Name: "name", Kind: KindString, Filter: true, Order: true, Search: true},
		{Name: "size", Kind: KindInt, Filter: true, Order: true},
		{Name: "content_type", Kind: KindString, Filter: true, Order: true},
		{Name: "project_id", Kind: KindInt, Nullable: true, Filter: true, Order: true},
		{Name: "task_id", Kind: KindInt, Filter: true},
		{Name: "uploaded_by", Kind: KindInt, Filter: true},
		{Name: "created_at", Kind: KindTime, Filter: true, Order: true},
	},
	DefaultOrder: []Order{{Field: "created_at", Desc: true}, {Field: "id", Desc: true}},
}

// FileService manages the files of the tenant in ctx for the principal in
// ctx. A file is visible when its project is. Every method returns
// EUNAUTHORIZED without a principal and ENOTFOUND outside a tenant or for a
// file (or project, or task) the principal cannot see; EFORBIDDEN means it
// is visible but the permission is missing. Bad input is EINVALID.
type FileService interface {
	// ListFiles returns one page of the files of visible projects and how
	// many there are in all.
	ListFiles(ctx context.Context, q ListQuery) ([]*File, int, error)
	// FindFileByID returns a visible file.
	FindFileByID(ctx context.Context, id int64) (*File, error)
	// UploadFile needs files.add_file on the file's project, which must be
	// visible, and stores the body. Permission and visibility are checked
	// before the body is read. ETOOLARGE when the body passes the size
	// limit; nothing is kept then.
	UploadFile(ctx context.Context, in FileUpload) (*File, error)
	// CanUpload returns nil when the principal may upload a file to some
	// project (files.add_file model-wide or on a project), EFORBIDDEN
	// otherwise. It needs no project, so an upload can be refused before
	// its file is read.
	CanUpload(ctx context.Context) error
	// OpenFile returns a visible file and its content, which the caller
	// closes.
	OpenFile(ctx context.Context, id int64) (io.ReadCloser, *File, error)
	// DeleteFile needs files.delete_file on the file's project.
	DeleteFile(ctx context.Context, id int64) error
}
