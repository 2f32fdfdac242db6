package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	"taruvi"
)

// ErrNoFile is what ReadUpload returns for a form without a file part.
var ErrNoFile = errors.New("the upload has no file part")

// Upload is how ReadUpload reads one multipart/form-data upload: a file,
// in the part named "file", and the fields that say where it goes.
type Upload struct {
	// MaxBytes bounds the file; a larger one is ETOOLARGE.
	MaxBytes int64
	// Spools is where a file sent before its fields waits for them, and
	// how many may wait at once; nil: the system's temporary folder,
	// without bound.
	Spools *Spools
	// Admit, when set, is asked before a file sent before its fields is
	// spooled, whether the caller may upload at all; its error is
	// returned and nothing is written.
	Admit func() error
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
// MaxBytes, once Admit agrees and Spools has room (else EUNAVAILABLE),
// and stored once every part is read and every field was good; the
// temporary file is removed before ReadUpload returns. Errors reading
// the body are EBADREQUEST, or ETOOLARGE past MaxBytes or the body's own
// limit (http.MaxBytesReader); a second file is EINVALID.
func ReadUpload(mr *multipart.Reader, u Upload) error {
	var file *multipart.Part
	var spool *os.File
	defer func() {
		if spool != nil {
			u.Spools.remove(spool)
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
			if u.Admit != nil {
				if err := u.Admit(); err != nil {
					return err
				}
			}
			if spool, err = u.Spools.create(); err != nil {
				return err
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

// Spools bounds the uploads whose file waits on disk for the fields sent
// after it, across the requests of a process: at most n files of at most
// TARUVI_MAX_UPLOAD_BYTES each. It is safe for concurrent use.
type Spools struct {
	dir   string
	slots chan struct{}
}

// NewSpools returns room for n files (at least one) waiting at once in
// dir, which it creates if missing; "" is the system's temporary folder.
func NewSpools(dir string, n int) (*Spools, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("upload temporary folder: %w", err)
		}
	}
	return &Spools{dir: dir, slots: make(chan struct{}, max(n, 1))}, nil
}

// spoolRetry is the Retry-After of an upload refused for want of room.
const spoolRetry = 2 * time.Second

// create takes a place, without waiting, and a temporary file to spool
// to; EUNAVAILABLE when every place is taken. A nil s has room always.
func (s *Spools) create() (*os.File, error) {
	dir := ""
	if s != nil {
		select {
		case s.slots <- struct{}{}:
		default:
			return nil, &taruvi.Error{Code: taruvi.EUNAVAILABLE, RetryAfter: spoolRetry,
				Message: "Too many uploads are waiting for their fields: try again shortly, or send the project or task field before the file."}
		}
		dir = s.dir
	}
	f, err := os.CreateTemp(dir, "taruvi-upload-*")
	if err != nil {
		s.release()
		return nil, fmt.Errorf("spool an upload: %w", err)
	}
	return f, nil
}

// remove deletes a file of create and gives its place back.
func (s *Spools) remove(f *os.File) {
	f.Close()
	os.Remove(f.Name())
	s.release()
}

func (s *Spools) release() {
	if s != nil {
		<-s.slots
	}
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
