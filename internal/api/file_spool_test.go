package api_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// openUpload is an upload whose body is still being sent: its file part
// has begun, the rest follows with finish.
type openUpload struct {
	mw    *multipart.Writer
	pw    *io.PipeWriter
	wrote chan error // the beginning of the file, once sent
	reply chan response
}

// startFileFirst begins an upload, file first, whose file part begins
// with begin, sent meanwhile, and returns while its body is still open.
func (s *fileStack) startFileFirst(t *testing.T, host, cred, begin string) *openUpload {
	t.Helper()
	pr, pw := io.Pipe()
	u := &openUpload{mw: multipart.NewWriter(pw), pw: pw, wrote: make(chan error, 1), reply: make(chan response, 1)}
	req, err := http.NewRequest("POST", s.url+"/api/files/", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", u.mw.FormDataContentType())
	req.Header.Set("Authorization", cred)
	go func() {
		res, err := s.client.Do(req)
		if err != nil {
			u.reply <- response{body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		u.reply <- response{status: res.StatusCode, header: res.Header, body: string(b)}
	}()
	t.Cleanup(func() { pw.Close() })
	go func() {
		w, err := u.mw.CreateFormFile("file", "waiting.txt")
		if err == nil {
			_, err = io.WriteString(w, begin)
		}
		u.wrote <- err
	}()
	return u
}

// finish sends the project field after the file and ends the body.
func (u *openUpload) finish(t *testing.T, project string) {
	t.Helper()
	if err := <-u.wrote; err != nil {
		t.Fatal(err)
	}
	if err := u.mw.WriteField("project", project); err != nil {
		t.Fatal(err)
	}
	if err := u.mw.Close(); err != nil {
		t.Fatal(err)
	}
	u.pw.Close()
}

// answer waits for the server's answer, which may come before the body
// ends.
func (u *openUpload) answer(t *testing.T, within time.Duration) (response, bool) {
	t.Helper()
	select {
	case r := <-u.reply:
		return r, true
	case <-time.After(within):
		return response{}, false
	}
}

// TestFileFirstUploadIsAuthorizedBeforeSpooling: a file sent before its
// project waits on disk only for a caller who may upload files to some
// project; anyone else is refused as soon as the file part begins, while
// the client is still sending it (a megabyte, then a pause), and nothing
// reaches the spool folder.
func TestFileFirstUploadIsAuthorizedBeforeSpooling(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, 8<<20)
	ft := newFileTenant(t, s)
	for _, c := range []struct {
		name   string
		cred   string
		status int
		want   []string
	}{
		{"a member without add_file", ft.member.cred, http.StatusForbidden, wantForbidden},
		{"anonymously", "", http.StatusUnauthorized, wantUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := s.startFileFirst(t, ft.host, c.cred, strings.Repeat("x", 1<<20))
			r, answered := u.answer(t, 10*time.Second)
			left := s.spooled(t)
			if !answered {
				t.Fatalf("no answer while the file is being sent; the spool folder holds %q", left)
			}
			checkBody(t, "upload", r.status, c.status, r.body, c.want, nil, ft.vars)
			if len(left) > 0 {
				t.Errorf("the refused upload was spooled: %q", left)
			}
		})
	}
	// A grant on one project is enough to wait; the project decides.
	u := s.startFileFirst(t, ft.host, ft.uploader.cred, "granted")
	if err := s.waitSpooled(int64(len("granted"))); err != nil {
		t.Fatal(err)
	}
	u.finish(t, ft.vars["p1"])
	if r, _ := u.answer(t, 10*time.Second); r.status != http.StatusCreated {
		t.Errorf("upload with a grant on its project: %d %s", r.status, r.body)
	}
}

// TestFileFirstUploadsAreBounded: while as many files wait for their
// fields as the bound allows (one here), another file sent first is
// refused with 503 and Retry-After, without being spooled; once the
// waiting upload ends, it is taken. A file after its field streams, and is
// never refused for room.
func TestFileFirstUploadsAreBounded(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, fileLimit)
	ft := newFileTenant(t, s)
	project := field("project", "{{p1}}")
	waiting := s.startFileFirst(t, ft.host, ft.owner.cred, "waiting")
	if err := s.waitSpooled(int64(len("waiting"))); err != nil {
		t.Fatal(err)
	}

	ct, form := multipartBody(t, filePart("second.txt", "", "second"), field("project", ft.vars["p1"]))
	r := s.request(t, "POST", ft.host, "/api/files/", strings.NewReader(form),
		map[string]string{"Content-Type": ct, "Authorization": ft.owner.cred})
	checkBody(t, "a second upload, file first", r.status, http.StatusServiceUnavailable, r.body,
		[]string{`"code":"SERVICE_UNAVAILABLE"`, "send the project or task field before the file"}, nil, ft.vars)
	if r.header.Get("Retry-After") == "" {
		t.Error("the 503 has no Retry-After")
	}
	if left := s.spooled(t); len(left) != 1 {
		t.Errorf("the spool folder holds %q, want the waiting file only", left)
	}
	ct, form = multipartBody(t, field("project", ft.vars["p1"]), filePart("streamed.txt", "", "streamed"))
	if status, body := s.post(t, ft.host, ft.owner.cred, "", ct, strings.NewReader(form)); status != http.StatusCreated {
		t.Errorf("fields first meanwhile: %d %s", status, body)
	}

	waiting.finish(t, ft.vars["p1"])
	if r, _ := waiting.answer(t, 10*time.Second); r.status != http.StatusCreated {
		t.Fatalf("the waiting upload: %d %s", r.status, r.body)
	}
	s.runUploads(t, ft.host, ft.vars, []upload{{name: "file first again", cred: ft.owner.cred,
		parts: []formPart{filePart("second.txt", "", "second"), project}, status: 201}})
}
