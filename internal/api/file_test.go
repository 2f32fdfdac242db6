package api_test

import (
	"context"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// fileLimit is the upload limit of the scenario tests.
const fileLimit = 4096

// fileTenant is a tenant with two projects, a task in each, and users
// holding each file permission.
type fileTenant struct {
	*appTenant
	owner, uploader, deleter, member, outsider appUser
	vars                                       map[string]string
}

func newFileTenant(t *testing.T, s *fileStack) *fileTenant {
	t.Helper()
	a := s.newTenant(t)
	ft := &fileTenant{appTenant: a,
		owner:    a.owner(t, "olga"),
		uploader: a.member(t, "ada"),
		deleter:  a.member(t, "dan"),
		member:   a.member(t, "mia"),
		// Model-wide file permissions, but no project to see.
		outsider: a.member(t, "otto", taruvi.PermAddFile, taruvi.PermDeleteFile),
	}
	h, cred := a.host, ft.owner.cred
	p1 := s.create(t, h, "/api/projects/", cred, `{"name":"Apollo"}`)
	p2 := s.create(t, h, "/api/projects/", cred, `{"name":"Gemini"}`)
	t1 := s.create(t, h, "/api/tasks/", cred, `{"project_id":`+p1+`,"title":"Launch"}`)
	t2 := s.create(t, h, "/api/tasks/", cred, `{"project_id":`+p2+`,"title":"Orbit"}`)
	for _, u := range []appUser{ft.uploader, ft.deleter, ft.member} {
		if status, body := s.send(t, "POST", h, "/api/projects/"+p1+"/members/", cred, `{"user_id":`+u.ID()+`}`, ""); status != 201 {
			t.Fatalf("add member: %d %s", status, body)
		}
	}
	a.grantOn(t, ft.uploader, taruvi.PermAddFile, p1)
	a.grantOn(t, ft.deleter, taruvi.PermDeleteFile, p1)
	ft.vars = map[string]string{"p1": p1, "p2": p2, "t1": t1, "t2": t2,
		"owner": ft.owner.ID(), "uploader": ft.uploader.ID(), "deleter": ft.deleter.ID()}
	return ft
}

const pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

func TestFileUpload(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, fileLimit)
	ft := newFileTenant(t, s)
	o, h := ft.owner.cred, ft.host
	project := field("project", "{{p1}}")
	file := filePart("report.pdf", "application/pdf", pdf)
	// Cut before the closing boundary and the end of the file's content.
	ct, whole := multipartBody(t, project, filePart("cut.bin", "", strings.Repeat("c", 1000)))
	cut := whole[:len(whole)-100]
	ctFirst, wholeFirst := multipartBody(t, filePart("cut.bin", "", strings.Repeat("c", 1000)), project)
	cutFirst := wholeFirst[:len(wholeFirst)/2]
	// Part headers past the multipart allowance reach the body's limit.
	padCT, padBody := multipartBody(t, project, file)
	padBody = strings.Replace(padBody, "Content-Disposition: form-data; name=\"file\"",
		"X-Pad: "+strings.Repeat("p", 80<<10)+"\r\nContent-Disposition: form-data; name=\"file\"", 1)

	created := []string{`"status":"success"`, `"message":"File uploaded."`}
	s.runUploads(t, h, ft.vars, []upload{
		{name: "to a project", cred: o, reqID: "req-f-upload", parts: []formPart{project, file}, status: 201,
			want: append(created, `"name":"report.pdf"`, `"size":`+strconv.Itoa(len(pdf)), `"content_type":"application/pdf"`,
				`"sha256":"`+sha256Hex([]byte(pdf))+`"`, `"project_id":{{p1}}`, `"task_id":null`, `"uploaded_by":{{owner}}`, `"created_at":"`),
			absent: []string{"storage", "tenants/"}, save: map[string]string{"f1": "data.id"}},
		{name: "to a task, by a grant", cred: ft.uploader.cred, parts: []formPart{field("task", "{{t1}}"),
			filePart("notes.txt", "", "plain notes")}, status: 201,
			want: []string{`"project_id":{{p1}}`, `"task_id":{{t1}}`, `"uploaded_by":{{uploader}}`,
				`"content_type":"text/plain; charset=utf-8"`}, save: map[string]string{"f2": "data.id"}},
		{name: "to a task of the project", cred: o, parts: []formPart{project, field("task", "{{t1}}"),
			filePart("both.txt", "text/plain", "x")}, status: 201, want: []string{`"task_id":{{t1}}`}},
		{name: "to the other project", cred: o, parts: []formPart{field("project", "{{p2}}"),
			filePart("gemini.csv", "text/csv", "a,b\n1,2\n")}, status: 201,
			want: []string{`"project_id":{{p2}}`, `"content_type":"text/csv"`}, save: map[string]string{"fp2": "data.id"}},
		{name: "a Windows path is cut", cred: o, parts: []formPart{project,
			filePart(`C:\Users\olga\Desktop\plan.csv`, "text/csv; charset=UTF-8", "p")}, status: 201,
			want: []string{`"name":"plan.csv"`, `"content_type":"text/csv; charset=UTF-8"`}},
		{name: "a relative path is cut", cred: o, parts: []formPart{project, filePart("../../etc/passwd", "", "root:x:0:0")},
			status: 201, want: []string{`"name":"passwd"`}},
		{name: "a UTF-8 name", cred: o, parts: []formPart{project, filePart("Résumé final 📄.txt", "text/plain", "cv")},
			status: 201, want: []string{`"name":"Résumé final 📄.txt"`}, save: map[string]string{"fu": "data.id"}},
		{name: "HTML is recognised", cred: o, parts: []formPart{project,
			filePart("page.bin", "application/octet-stream", "<!DOCTYPE html><script>alert(1)</script>")},
			status: 201, want: []string{`"content_type":"text/html; charset=utf-8"`}, save: map[string]string{"fh": "data.id"}},
		{name: "SVG as sent", cred: o, parts: []formPart{project, filePart("logo.svg", "image/svg+xml", "<svg/>")},
			status: 201, want: []string{`"content_type":"image/svg+xml"`}, save: map[string]string{"fs": "data.id"}},
		{name: "a malformed type is detected", cred: o, parts: []formPart{project, filePart("data", "no type", "\x00\x01\x02")},
			status: 201, want: []string{`"content_type":"application/octet-stream"`}},
		{name: "empty", cred: o, parts: []formPart{project, filePart("empty.txt", "", "")}, status: 201,
			want: []string{`"size":0`, `"content_type":"application/octet-stream"`,
				`"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`}},
		{name: "exactly the limit", cred: o, parts: []formPart{project, filePart("full.bin", "", strings.Repeat("f", fileLimit))},
			status: 201, want: []string{`"size":4096`}},
		{name: "a name of 255 bytes", cred: o, parts: []formPart{project, filePart(strings.Repeat("n", 251)+".txt", "", "n")},
			status: 201},
		{name: "an empty project field is left out", cred: o, parts: []formPart{field("project", ""), field("task", "{{t1}}"), file},
			status: 201, want: []string{`"task_id":{{t1}}`}},

		{name: "the project after the file", cred: o, parts: []formPart{file, project}, status: 201,
			want: append(created, `"name":"report.pdf"`, `"project_id":{{p1}}`, `"task_id":null`, `"size":`+strconv.Itoa(len(pdf)),
				`"sha256":"`+sha256Hex([]byte(pdf))+`"`, `"content_type":"application/pdf"`)},
		{name: "the task after the file, by a grant", cred: ft.uploader.cred, parts: []formPart{filePart("late.txt", "", "late notes"),
			field("task", "{{t1}}")}, status: 201, want: []string{`"project_id":{{p1}}`, `"task_id":{{t1}}`, `"size":10`,
			`"content_type":"text/plain; charset=utf-8"`}},
		{name: "HTML after the file is recognised", cred: o, parts: []formPart{filePart("page2.bin", "", "<!DOCTYPE html><p>x"), project},
			status: 201, want: []string{`"content_type":"text/html; charset=utf-8"`}},
		{name: "exactly the limit, file first", cred: o, parts: []formPart{filePart("full.bin", "", strings.Repeat("f", fileLimit)), project},
			status: 201, want: []string{`"size":4096`}},

		{name: "over the limit", cred: o, parts: []formPart{project, filePart("big.bin", "", strings.Repeat("b", fileLimit+1))},
			status: 413, want: []string{`"code":"PAYLOAD_TOO_LARGE"`, "4096 bytes"}},
		{name: "far over the limit", cred: o, parts: []formPart{project, filePart("big.bin", "", strings.Repeat("b", 200<<10))},
			status: 413, want: []string{`"code":"PAYLOAD_TOO_LARGE"`}},
		{name: "over the body limit", cred: o, raw: padBody, contentType: padCT, status: 413,
			want: []string{`"code":"PAYLOAD_TOO_LARGE"`}},

		{name: "no file part", cred: o, parts: []formPart{project}, status: 400, want: invalidField("file")},
		{name: "no parts", cred: o, parts: []formPart{}, status: 400, want: invalidField("file")},
		{name: "not multipart", cred: o, raw: `{"project":1}`, contentType: "application/json", status: 400,
			want: []string{`"code":"BAD_REQUEST"`, "multipart/form-data"}},
		{name: "no content type", cred: o, raw: "file", status: 400, want: []string{`"code":"BAD_REQUEST"`}},
		{name: "no boundary", cred: o, raw: "--x\r\n", contentType: "multipart/form-data", status: 400,
			want: []string{`"code":"BAD_REQUEST"`}},
		{name: "an empty body", cred: o, raw: "", contentType: ct, status: 400, want: []string{`"code":"BAD_REQUEST"`}},
		{name: "cut short", cred: o, raw: cut, contentType: ct, status: 400, want: []string{`"code":"BAD_REQUEST"`, "cut short"}},
		{name: "a field after a streamed file", cred: o, parts: []formPart{project, file, field("task", "{{t1}}")}, status: 400,
			want: append(invalidField("task"), "before the file")},
		{name: "an unknown field after a streamed file", cred: o, parts: []formPart{project, file, field("colour", "red")},
			status: 400, want: invalidField("colour")},
		{name: "a bad project after the file", cred: o, parts: []formPart{file, field("project", "abc")}, status: 400,
			want: invalidField("project")},
		{name: "an unknown field after the file", cred: o, parts: []formPart{file, project, field("colour", "red")}, status: 400,
			want: invalidField("colour")},
		{name: "two files", cred: o, parts: []formPart{file, file, project}, status: 400, want: invalidField("file")},
		{name: "over the limit, file first", cred: o, parts: []formPart{filePart("big.bin", "", strings.Repeat("b", fileLimit+1)), project},
			status: 413, want: []string{`"code":"PAYLOAD_TOO_LARGE"`, "4096 bytes"}},
		{name: "far over the limit, file first", cred: o, parts: []formPart{filePart("big.bin", "", strings.Repeat("b", 200<<10)), project},
			status: 413, want: []string{`"code":"PAYLOAD_TOO_LARGE"`}},
		{name: "cut short, file first", cred: o, raw: cutFirst, contentType: ctFirst, status: 400,
			want: []string{`"code":"BAD_REQUEST"`, "cut short"}},
		{name: "neither project nor task", cred: o, parts: []formPart{file}, status: 400, want: invalidField("project")},
		{name: "a project id of letters", cred: o, parts: []formPart{field("project", "abc"), file}, status: 400,
			want: invalidField("project")},
		{name: "a project id of zero", cred: o, parts: []formPart{field("project", "0"), file}, status: 400, want: invalidField("project")},
		{name: "a negative project id", cred: o, parts: []formPart{field("project", "-1"), file}, status: 400, want: invalidField("project")},
		{name: "a huge project id", cred: o, parts: []formPart{field("project", strings.Repeat("9", 100)), file}, status: 400,
			want: invalidField("project")},
		{name: "a bad task id", cred: o, parts: []formPart{field("task", "1.5"), file}, status: 400, want: invalidField("task")},
		{name: "a task of another project", cred: o, parts: []formPart{project, field("task", "{{t2}}"), file}, status: 400,
			want: append(invalidField("task"), "is not in project")},
		{name: "the project twice", cred: o, parts: []formPart{project, project, file}, status: 400, want: invalidField("project")},
		{name: "an unknown field", cred: o, parts: []formPart{project, field("colour", "red"), file}, status: 400,
			want: invalidField("colour")},
		{name: "a part without a name", cred: o, parts: []formPart{{disposition: "form-data", body: "x"}, file}, status: 400,
			want: []string{`"code":"BAD_REQUEST"`}},
		{name: "a file without a filename", cred: o, parts: []formPart{project, {disposition: `form-data; name="file"`, body: "x"}},
			status: 400, want: invalidField("file")},
		{name: "an empty filename", cred: o, parts: []formPart{project, filePart("", "", "x")}, status: 400, want: invalidField("file")},
		{name: "a filename of dots", cred: o, parts: []formPart{project, filePart("..", "", "x")}, status: 400, want: invalidField("file")},
		{name: "a folder", cred: o, parts: []formPart{project, filePart("docs/", "", "x")}, status: 400, want: invalidField("file")},
		{name: "a control character", cred: o, parts: []formPart{project,
			{disposition: `form-data; name="file"; filename*=UTF-8''a%01b.txt`, body: "x"}}, status: 400, want: invalidField("file")},
		{name: "a bidirectional override", cred: o, parts: []formPart{project, filePart("invoice\u202egpj.exe", "", "x")},
			status: 400, want: invalidField("file")},
		{name: "invalid UTF-8", cred: o, parts: []formPart{project,
			{disposition: `form-data; name="file"; filename*=UTF-8''a%FF.txt`, body: "x"}}, status: 400, want: invalidField("file")},
		{name: "a name of 256 bytes", cred: o, parts: []formPart{project, filePart(strings.Repeat("n", 252)+".txt", "", "x")},
			status: 400, want: append(invalidField("file"), "255 bytes")},

		{name: "anonymously", parts: []formPart{project, file}, status: 401, want: wantUnauthorized},
		{name: "with a bad token", cred: "Bearer nope", parts: []formPart{project, file}, status: 401, want: wantUnauthorized},
		{name: "a member without add_file", cred: ft.member.cred, parts: []formPart{project, file}, status: 403, want: wantForbidden},
		{name: "a grant on one project only", cred: ft.uploader.cred, parts: []formPart{field("project", "{{p2}}"), file},
			status: 404, want: wantNotFound},
		{name: "an invisible project", cred: ft.outsider.cred, parts: []formPart{project, file}, status: 404,
			want: wantNotFound, absent: []string{"Apollo"}},
		{name: "an invisible project after the file", cred: ft.outsider.cred, parts: []formPart{file, project}, status: 404,
			want: wantNotFound, absent: []string{"Apollo"}},
		{name: "a member without add_file, file first", cred: ft.member.cred, parts: []formPart{file, project}, status: 403,
			want: wantForbidden},
		{name: "a task of an invisible project", cred: ft.outsider.cred, parts: []formPart{field("task", "{{t1}}"), file},
			status: 404, want: wantNotFound},
		{name: "an unknown project", cred: o, parts: []formPart{field("project", "999999"), file}, status: 404, want: wantNotFound},
		{name: "an unknown task", cred: o, parts: []formPart{field("task", "999999"), file}, status: 404, want: wantNotFound},
	})
	// Only the 18 uploads that succeeded left a blob.
	if got := s.blobs(t); len(got) != 18 {
		t.Errorf("the store holds %d blobs, want 18: %q", len(got), got)
	}
	for _, key := range s.blobs(t) {
		if !strings.HasPrefix(key, taruvi.TenantBlobPrefix(ft.tenant)+"files/") || strings.ContainsAny(key[len("tenants/"):], ".") {
			t.Errorf("storage key %q is not a random key under the tenant's prefix", key)
		}
	}
	// Uploads on the platform host have no tenant.
	ct, form := multipartBody(t, field("project", "1"), file)
	status, body := s.post(t, "localhost", "", "", ct, strings.NewReader(form))
	if status != http.StatusNotFound {
		t.Errorf("upload on the platform: %d %s, want 404", status, body)
	}
}

func TestFileReadAndDelete(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, fileLimit)
	ft := newFileTenant(t, s)
	o, h := ft.owner.cred, ft.host
	project := field("project", "{{p1}}")
	s.runUploads(t, h, ft.vars, []upload{
		{name: "report", cred: o, reqID: "req-f-upload", parts: []formPart{project, filePart("report.pdf", "application/pdf", pdf)},
			status: 201, save: map[string]string{"f1": "data.id"}},
		{name: "notes", cred: ft.uploader.cred, parts: []formPart{field("task", "{{t1}}"), filePart("Plan notes.txt", "", "notes")},
			status: 201, save: map[string]string{"f2": "data.id"}},
		{name: "big", cred: o, parts: []formPart{project, filePart("big.bin", "", strings.Repeat("b", 4000))},
			status: 201, save: map[string]string{"f3": "data.id"}},
		{name: "other project", cred: o, parts: []formPart{field("project", "{{p2}}"), filePart("gemini.csv", "text/csv", "g")},
			status: 201, save: map[string]string{"f4": "data.id"}},
	})
	vars := ft.vars
	key1 := s.storageKey(t, ft.appTenant, vars["f1"])
	all := []string{"{{f1}}", "{{f2}}", "{{f3}}", "{{f4}}"}
	s.run(t, vars, []call{
		{name: "list", method: "GET", path: "/api/files/?ordering=id", host: h, cred: o, status: 200,
			total: total(4), field: "id", values: all, absent: []string{"storage", "tenants/"}},
		{name: "list newest first", method: "GET", path: "/api/files", host: h, cred: o, status: 200,
			total: total(4), field: "id", values: []string{"{{f4}}", "{{f3}}", "{{f2}}", "{{f1}}"}},
		{name: "by project", method: "GET", path: "/api/files/?project_id={{p2}}", host: h, cred: o, status: 200,
			total: total(1), field: "name", values: []string{"gemini.csv"}},
		{name: "by task", method: "GET", path: "/api/files/?task_id={{t1}}", host: h, cred: o, status: 200,
			total: total(1), field: "name", values: []string{"Plan notes.txt"}},
		{name: "without task", method: "GET", path: "/api/files/?task_id__null=true&ordering=id", host: h, cred: o, status: 200,
			total: total(3), field: "id", values: []string{"{{f1}}", "{{f3}}", "{{f4}}"}},
		{name: "by name", method: "GET", path: "/api/files/?name__icontains=REPORT", host: h, cred: o, status: 200,
			total: total(1), field: "id", values: []string{"{{f1}}"}},
		{name: "by name, ends with", method: "GET", path: "/api/files/?name__endswith=.csv", host: h, cred: o, status: 200,
			total: total(1), field: "id", values: []string{"{{f4}}"}},
		{name: "by content type", method: "GET", path: "/api/files/?content_type=application/pdf", host: h, cred: o, status: 200,
			total: total(1), field: "id", values: []string{"{{f1}}"}},
		{name: "larger than", method: "GET", path: "/api/files/?size__gt=100", host: h, cred: o, status: 200,
			total: total(1), field: "id", values: []string{"{{f3}}"}},
		{name: "smaller than, by size", method: "GET", path: "/api/files/?size__lt=100&ordering=-size", host: h, cred: o, status: 200,
			total: total(3), field: "id", values: []string{"{{f1}}", "{{f2}}", "{{f4}}"}},
		{name: "by uploader", method: "GET", path: "/api/files/?uploaded_by={{uploader}}", host: h, cred: o, status: 200,
			total: total(1), field: "id", values: []string{"{{f2}}"}},
		{name: "since", method: "GET", path: "/api/files/?created_at__gte=2020-01-01T00:00:00Z", host: h, cred: o, status: 200,
			total: total(4)},
		{name: "search", method: "GET", path: "/api/files/?search=plan", host: h, cred: o, status: 200,
			total: total(1), field: "id", values: []string{"{{f2}}"}},
		{name: "paged", method: "GET", path: "/api/files/?ordering=id&page=2&page_size=3", host: h, cred: o, status: 200,
			total: total(4), field: "id", values: []string{"{{f4}}"}},
		{name: "a member sees the project's", method: "GET", path: "/api/files/?ordering=id", host: h, cred: ft.member.cred, status: 200,
			total: total(3), field: "id", values: []string{"{{f1}}", "{{f2}}", "{{f3}}"}},
		{name: "an outsider sees none", method: "GET", path: "/api/files/", host: h, cred: ft.outsider.cred, status: 200,
			total: total(0), want: []string{`"data":[]`}},
		{name: "by storage key", method: "GET", path: "/api/files/?storage_key=" + key1, host: h, cred: o, status: 400,
			want: invalidField("storage_key")},
		{name: "an unknown operator", method: "GET", path: "/api/files/?name__like=x", host: h, cred: o, status: 400,
			want: invalidField("name__like")},
		{name: "a bad size", method: "GET", path: "/api/files/?size__gt=big", host: h, cred: o, status: 400,
			want: invalidField("size__gt")},
		{name: "list anonymously", method: "GET", path: "/api/files/", host: h, status: 401, want: wantUnauthorized},
		{name: "no files on the platform", method: "GET", path: "/api/files/", host: "localhost", status: 404, want: wantNotFound},

		{name: "get", method: "GET", path: "/api/files/{{f1}}/", host: h, cred: o, status: 200,
			want:   []string{`"id":{{f1}}`, `"name":"report.pdf"`, `"sha256":"` + sha256Hex([]byte(pdf)) + `"`},
			absent: []string{"storage", "tenants/"}},
		{name: "get without the slash", method: "GET", path: "/api/files/{{f2}}", host: h, cred: ft.member.cred, status: 200,
			want: []string{`"task_id":{{t1}}`}},
		{name: "get invisible", method: "GET", path: "/api/files/{{f1}}/", host: h, cred: ft.outsider.cred, status: 404,
			want: wantNotFound, absent: []string{"report"}},
		{name: "get of another project", method: "GET", path: "/api/files/{{f4}}/", host: h, cred: ft.member.cred, status: 404},
		{name: "get unknown", method: "GET", path: "/api/files/999999/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "get non-numeric", method: "GET", path: "/api/files/abc/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "get zero", method: "GET", path: "/api/files/0/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "get anonymously", method: "GET", path: "/api/files/{{f1}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "download unknown", method: "GET", path: "/api/files/999999/download/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "download non-numeric", method: "GET", path: "/api/files/x/download/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "download invisible", method: "GET", path: "/api/files/{{f1}}/download/", host: h, cred: ft.outsider.cred,
			status: 404, want: wantNotFound},
		{name: "download anonymously", method: "GET", path: "/api/files/{{f1}}/download/", host: h, status: 401, want: wantUnauthorized},
		{name: "no PATCH", method: "PATCH", path: "/api/files/{{f1}}/", host: h, cred: o, body: `{"name":"x"}`, status: 405},

		{name: "delete as a member", method: "DELETE", path: "/api/files/{{f1}}/", host: h, cred: ft.member.cred,
			status: 403, want: wantForbidden},
		{name: "delete with add_file only", method: "DELETE", path: "/api/files/{{f1}}/", host: h, cred: ft.uploader.cred,
			status: 403, want: wantForbidden},
		{name: "delete invisible", method: "DELETE", path: "/api/files/{{f1}}/", host: h, cred: ft.outsider.cred,
			status: 404, want: wantNotFound},
		{name: "delete of another project", method: "DELETE", path: "/api/files/{{f4}}/", host: h, cred: ft.deleter.cred,
			status: 404, want: wantNotFound},
		{name: "delete anonymously", method: "DELETE", path: "/api/files/{{f1}}/", host: h, status: 401, want: wantUnauthorized},
		{name: "delete unknown", method: "DELETE", path: "/api/files/999999/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "delete non-numeric", method: "DELETE", path: "/api/files/1e3/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "delete", method: "DELETE", path: "/api/files/{{f1}}/", host: h, cred: ft.deleter.cred, reqID: "req-f-delete",
			status: 200, want: []string{`"status":"success"`, `"message":"File deleted."`}},
		{name: "gone", method: "GET", path: "/api/files/{{f1}}/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "download gone", method: "GET", path: "/api/files/{{f1}}/download/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "delete again", method: "DELETE", path: "/api/files/{{f1}}/", host: h, cred: o, status: 404, want: wantNotFound},
		{name: "the rest", method: "GET", path: "/api/files/?ordering=id", host: h, cred: o, status: 200,
			total: total(3), field: "id", values: all[1:]},

		{name: "history of the file", method: "GET", path: "/api/history/?object_type=file&object_id={{f1}}", host: h, cred: o,
			status: 200, total: total(2), field: "action", values: []string{"delete", "create"},
			want: []string{`"actor_id":{{deleter}},`, `"request_id":"req-f-delete"`, `"actor_id":{{owner}},`,
				`"request_id":"req-f-upload"`, `"name":"report.pdf"`},
			absent: []string{"storage_key", "tenants/"}},
		{name: "history of the file, to a member", method: "GET", path: "/api/history/?object_type=file&object_id={{f1}}", host: h,
			cred: ft.member.cred, status: 200, total: total(2)},
		{name: "history of the file, to an outsider", method: "GET", path: "/api/history/?object_type=file&object_id={{f1}}", host: h,
			cred: ft.outsider.cred, status: 404},
	})
	if slices.Contains(s.blobs(t), key1) {
		t.Errorf("the blob of the deleted file remains: %s", key1)
	}
	if got := s.blobs(t); len(got) != 3 {
		t.Errorf("the store holds %d blobs, want 3: %q", len(got), got)
	}
}

// TestFileDownload: the content comes back byte for byte, as an
// attachment under its name, with a type that cannot act in the API's
// origin.
func TestFileDownload(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, fileLimit)
	ft := newFileTenant(t, s)
	binary := string(randomish(fileLimit))
	files := []struct {
		name, sentType, body string
		wantType             string // served
		wantDisposition      string
	}{
		{"report.pdf", "application/pdf", pdf, "application/pdf",
			`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`},
		{"data.bin", "", binary, "application/octet-stream", `attachment; filename="data.bin"; filename*=UTF-8''data.bin`},
		{"Résumé final 📄.txt", "text/plain; charset=utf-8", "cv", "text/plain; charset=utf-8",
			`attachment; filename="R_sum_ final _.txt"; filename*=UTF-8''R%C3%A9sum%C3%A9%20final%20%F0%9F%93%84.txt`},
		{`say "hi" 100%.txt`, "text/plain", "hi", "text/plain",
			`attachment; filename="say _hi_ 100_.txt"; filename*=UTF-8''say%20%22hi%22%20100%25.txt`},
		{"page.html", "text/html", "<script>alert(document.cookie)</script>", "application/octet-stream", ""},
		{"page.bin", "", "<!DOCTYPE html><p>hi", "application/octet-stream", ""},
		{"logo.svg", "image/svg+xml", "<svg onload=alert(1)/>", "application/octet-stream", ""},
		{"page.xhtml", "application/xhtml+xml", "<html/>", "application/octet-stream", ""},
		{"feed.xml", "text/xml", "<a/>", "application/octet-stream", ""},
		{"data.xml", "application/xml", "<a/>", "application/octet-stream", ""},
		{"app.js", "text/javascript", "alert(1)", "application/octet-stream", ""},
		{"app.mjs", "application/javascript", "alert(1)", "application/octet-stream", ""},
		{"photo.png", "image/png", "\x89PNG\r\n\x1a\n", "image/png", ""},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			ct, body := multipartBody(t, field("project", ft.vars["p1"]), filePart(f.name, f.sentType, f.body))
			status, res := s.post(t, ft.host, ft.owner.cred, "", ct, strings.NewReader(body))
			if status != http.StatusCreated {
				t.Fatalf("upload: %d %s", status, res)
			}
			id, err := lookup(res, "data.id")
			if err != nil {
				t.Fatal(err)
			}
			sum, _ := lookup(res, "data.sha256")
			for _, cred := range []string{ft.owner.cred, ft.member.cred} {
				got := s.download(t, ft.host, cred, id)
				content := []byte(got.body)
				if got.status != http.StatusOK {
					t.Fatalf("download: %d %s", got.status, content)
				}
				if string(content) != f.body || sha256Hex(content) != sum {
					t.Errorf("download: %d bytes, SHA-256 %s; want the %d bytes uploaded, %s", len(content), sha256Hex(content), len(f.body), sum)
				}
				wantHeaders := map[string]string{
					"Content-Type":           f.wantType,
					"Content-Length":         strconv.Itoa(len(f.body)),
					"X-Content-Type-Options": "nosniff",
				}
				if f.wantDisposition != "" {
					wantHeaders["Content-Disposition"] = f.wantDisposition
				}
				for name, want := range wantHeaders {
					if v := got.header.Get(name); v != want {
						t.Errorf("%s: %q, want %q", name, v, want)
					}
				}
				disposition, params, err := mime.ParseMediaType(got.header.Get("Content-Disposition"))
				if err != nil || disposition != "attachment" || params["filename"] != f.name {
					t.Errorf("Content-Disposition %q reads as %s %q (%v), want an attachment named %q",
						got.header.Get("Content-Disposition"), disposition, params["filename"], err, f.name)
				}
			}
		})
	}
}

// randomish returns n bytes of every value, none of them text.
func randomish(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	b[0] = 0 // not text, whatever follows
	return b
}

// TestFileCrossTenant: tenant B's owner cannot list, read, download or
// delete A's files, even by id (B has a file 1 of its own), nor reach A's
// content through A's storage key: no endpoint takes a key, and a row of
// B's that names A's key (only raw SQL can write one) is refused by the
// store before the blob store is asked.
func TestFileCrossTenant(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, fileLimit)
	a, b := s.newTenant(t), s.newTenant(t)
	ownerA, ownerB := a.owner(t, "anna"), b.owner(t, "bert")
	pa := s.create(t, a.host, "/api/projects/", ownerA.cred, `{"name":"Secret A"}`)
	pb := s.create(t, b.host, "/api/projects/", ownerB.cred, `{"name":"Bert's"}`)
	vars := map[string]string{"pa": pa, "pb": pb}
	s.runUploads(t, a.host, vars, []upload{
		{name: "A's first", cred: ownerA.cred, parts: []formPart{field("project", "{{pa}}"), filePart("a1.txt", "", "secret of A, one")},
			status: 201, save: map[string]string{"a1": "data.id"}},
		{name: "A's second", cred: ownerA.cred, parts: []formPart{field("project", "{{pa}}"), filePart("a2.txt", "", "secret of A, two")},
			status: 201, save: map[string]string{"a2": "data.id"}},
	})
	s.runUploads(t, b.host, vars, []upload{
		{name: "B's own", cred: ownerB.cred, parts: []formPart{field("project", "{{pb}}"), filePart("b1.txt", "", "bert's file")},
			status: 201, save: map[string]string{"b1": "data.id"}},
		{name: "B into A's project id", cred: ownerB.cred, parts: []formPart{field("project", "2"), filePart("x.txt", "", "x")},
			status: 404},
	})
	if vars["a1"] != "1" || vars["a2"] != "2" || vars["b1"] != "1" {
		t.Fatalf("ids: A %s %s, B %s; want A's files 1 and 2 and B's file 1", vars["a1"], vars["a2"], vars["b1"])
	}
	keyA := s.storageKey(t, a, "2")
	vars["keyA"] = keyA
	s.run(t, vars, []call{
		{name: "B lists its own only", method: "GET", path: "/api/files/", host: b.host, cred: ownerB.cred, status: 200,
			total: total(1), field: "name", values: []string{"b1.txt"}, absent: []string{"a1.txt", "a2.txt"}},
		{name: "B's file 1 is B's", method: "GET", path: "/api/files/1/", host: b.host, cred: ownerB.cred, status: 200,
			want: []string{`"name":"b1.txt"`}, absent: []string{"a1"}},
		{name: "B cannot read A's 2", method: "GET", path: "/api/files/2/", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B cannot download A's 2", method: "GET", path: "/api/files/2/download/", host: b.host, cred: ownerB.cred,
			status: 404, absent: []string{"secret"}},
		{name: "B cannot delete A's 2", method: "DELETE", path: "/api/files/2/", host: b.host, cred: ownerB.cred, status: 404},
		{name: "B cannot read A's history", method: "GET", path: "/api/history/?object_type=file&object_id=2", host: b.host,
			cred: ownerB.cred, status: 404},
		{name: "no route takes a key", method: "GET", path: "/api/files/{{keyA}}/download/", host: b.host, cred: ownerB.cred,
			status: 404, absent: []string{"secret"}},
		{name: "nor a filter", method: "GET", path: "/api/files/?storage_key={{q:keyA}}", host: b.host, cred: ownerB.cred,
			status: 400, want: invalidField("storage_key")},
		{name: "B's token is refused on A", method: "GET", path: "/api/files/", host: a.host, cred: ownerB.cred, status: 401},
		{name: "B's token is refused on A's file", method: "DELETE", path: "/api/files/2/", host: a.host, cred: ownerB.cred, status: 401},
	})
	if got := s.download(t, b.host, ownerB.cred, "1"); got.status != 200 || got.body != "bert's file" {
		t.Errorf("B's download of its file 1: %d %q", got.status, got.body)
	}

	// A row in B's table naming A's key, as only raw SQL can write it.
	var forged string
	err := s.db.InTenant(b.operator(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO files (name, size, content_type, sha256, storage_key, project_id)
			VALUES ('stolen.txt', 16, 'text/plain', 'x', $1, $2) RETURNING id::text`, keyA, pb).Scan(&forged)
	})
	if err != nil {
		t.Fatal(err)
	}
	vars["forged"] = forged
	s.run(t, vars, []call{
		{name: "the forged row does not download", method: "GET", path: "/api/files/{{forged}}/download/", host: b.host,
			cred: ownerB.cred, status: 404, absent: []string{"secret"}},
		{name: "the forged row deletes, but not A's blob", method: "DELETE", path: "/api/files/{{forged}}/", host: b.host,
			cred: ownerB.cred, status: 200},
	})
	if !strings.Contains(s.log.String(), `"event":"foreign_blob_key"`) {
		t.Errorf("no security event for the foreign key in the log")
	}
	if got := s.download(t, a.host, ownerA.cred, "2"); got.status != 200 || got.body != "secret of A, two" {
		t.Errorf("A's file 2 after B's attempts: %d %q", got.status, got.body)
	}
	s.run(t, vars, []call{
		{name: "A's files are intact", method: "GET", path: "/api/files/?ordering=id", host: a.host, cred: ownerA.cred, status: 200,
			total: total(2), field: "name", values: []string{"a1.txt", "a2.txt"}},
	})
	rawSelectRefused(t, s.appStack, b.operator(), a.tenant.Schema, "files")
}
