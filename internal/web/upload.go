package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"

	"taruvi"
)

// ErrNoFile is what ReadUpload returns for a form without a file part.
var ErrNoFile = errors.New("the upload has no file part")

// Upload is how ReadUpload reads one multipart/form-data upload: a file,
// in the part named "file", and the fields that say where it goes.
type Upload struct {
	// MaxBytes bounds the file; a larger one is ETOOLARGE.
	MaxBytes int64
	// TempDir is where a file sent before its fields waits for them;
	// "" is the system's (os.TempDir).
	TempDir string
	// Field reads a part other than the file.
	Field func(part *multipart.Part) error
	// Ready reports whether the fields read so far are all the file
	// needs, so that it can be stored as it arrives.
	Ready func() bool
	// Store keeps the file: part is its part (headers and filename), body
	// its content, read once. Errors reading body are the client's, as
	// ReadUpload describes them.
	Store func(part *multipart.Part, body io.Reader) error
}

// ReadUpload reads the parts of mr in any order. A file after the fields
// it needs (Ready) goes to Store as it arrives, never held whole, and must
// be the last part: a part after it fails the read of its body, so nothing
// is kept. A file before them is spooled to a temporary file, at most
// MaxBytes, and stored once every part is read and every field was good;
// the temporary file is removed before ReadUpload returns. Errors reading
// the body are EBADREQUEST, or ETOOLARGE past MaxBytes or the body's own
// limit (http.MaxBytesReader); a second file is EINVALID.
func ReadUpload(mr *multipart.Reader, u Upload) error {
	var file *multipart.Part
	var spool *os.File
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF { // the closing boundary; a body cut short wraps io.EOF
			break
		}
		if err != nil {
			return u.bodyError(err)
		}
		switch {
		case part.FormName() != "file":
			err = u.Field(part)
		case file != nil:
			err = &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid file.", Fields: map[string]string{"file": "Send one file."}}
		case u.Ready():
			return u.Store(part, &lastPart{part: part, mr: mr, u: &u})
		default:
			file = part
			if spool, err = os.CreateTemp(u.TempDir, "taruvi-upload-*"); err != nil {
				return fmt.Errorf("spool an upload: %w", err)
			}
			err = u.spool(spool, part)
		}
		if err != nil {
			return err
		}
	}
	if file == nil {
		return ErrNoFile
	}
	return u.Store(file, spool)
}

// spool copies the file part to f, at most MaxBytes, and rewinds f.
func (u *Upload) spool(f *os.File, part io.Reader) error {
	src := &readErrors{r: io.LimitReader(part, u.MaxBytes+1)}
	n, err := io.Copy(f, src)
	switch {
	case src.err != nil:
		return u.bodyError(src.err)
	case err != nil:
		return fmt.Errorf("spool an upload: %w", err)
	case n > u.MaxBytes:
		return u.bodyError(&http.MaxBytesError{Limit: u.MaxBytes})
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool an upload: %w", err)
	}
	return nil
}

// bodyError explains an error reading the upload's body: over a size
// limit, or cut short or malformed.
func (u *Upload) bodyError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &taruvi.Error{Code: taruvi.ETOOLARGE, Wrapped: err,
			Message: fmt.Sprintf("The file is larger than the limit of %d bytes.", u.MaxBytes)}
	}
	return &taruvi.Error{Code: taruvi.EBADREQUEST, Message: "The multipart body is malformed or was cut short.", Wrapped: err}
}

// readErrors remembers an error reading r, which io.Copy does not tell
// apart from one writing.
type readErrors struct {
	r   io.Reader
	err error
}

func (e *readErrors) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

// lastPart is a file part streamed to the store. Errors reading it are the
// client's; at its end the body must end too, since a field after it comes
// too late to count.
type lastPart struct {
	part io.Reader
	mr   *multipart.Reader
	u    *Upload
	err  error // once the part has ended
}

func (l *lastPart) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.part.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		next, nextErr := l.mr.NextPart()
		switch {
		case nextErr == io.EOF:
			l.err = io.EOF
		case nextErr != nil:
			l.err = l.u.bodyError(nextErr)
		default:
			name := next.FormName()
			if name == "" {
				name = "file"
			}
			l.err = &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid file.", Fields: map[string]string{
				name: "Send this field before the file, or every field after it."}}
		}
		err = l.err
	case err != nil:
		err = l.u.bodyError(err)
	}
	return n, err
}
