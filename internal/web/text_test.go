package web_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"taruvi"
	"taruvi/internal/web"
)

// jsonTextCases are JSON bodies and whether CheckJSONText lets them pass.
var jsonTextCases = []struct {
	body string
	ok   bool
}{
	{`{"name":"Ann"}`, true},
	{`{"name":"caf\u00e9 \u20ac"}`, true},
	{`{"name":"\ud83d\ude00"}`, true}, // a surrogate pair: one emoji
	{`{"name":"\uD83D\uDE00"}`, true},
	{`{"name":"a\\u0000"}`, true}, // an escaped backslash, then the text u0000
	{`{"name":"\"\\\"\u0041"}`, true},
	{`{"name":"😀 é"}`, true},
	{`{"name":"\u0001"}`, true},
	{`["\u00"]`, true}, // malformed: the decoder's to report
	{`"\`, true},
	{``, true},
	{`{"name":"\u0000"}`, false},
	{`{"a\u0000":1}`, false},
	{`{"attributes":{"k":["x","\u0000"]}}`, false},
	{`{"name":"\ud800"}`, false},
	{`{"name":"\ud800x"}`, false},
	{`{"name":"\ud800\u0041"}`, false},
	{`{"name":"\ud800\ud800"}`, false},
	{`{"name":"\udc00"}`, false},
	{`{"name":"\uDFFF\uD800"}`, false},
	{`{"name":"\\\u0000"}`, false},
	{"{\"name\":\"\xff\"}", false},
	{"{\"name\":\"\xed\xa0\x80\"}", false}, // a surrogate encoded as UTF-8
	{"{\"name\":\"a\x00\"}", false},
	{"\x00", false},
}

func TestCheckJSONText(t *testing.T) {
	t.Parallel()
	for _, tt := range jsonTextCases {
		err := web.CheckJSONText([]byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("CheckJSONText(%q) = %v, want ok %v", tt.body, err, tt.ok)
		}
		if code := taruvi.ErrorCode(err); err != nil && code != taruvi.EINVALID && code != taruvi.EBADREQUEST {
			t.Errorf("CheckJSONText(%q): code %s", tt.body, code)
		}
	}
}

// TestCheckJSONTextNamesTheMember: the error names the member holding the
// bad text, however deep, as a dotted path.
func TestCheckJSONTextNamesTheMember(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, field string }{
		{`{"name":"a\u0000b"}`, "name"},
		{`{"ok":"x","n":1,"list":[1,{"a":2}],"name":"\ud800"}`, "name"},
		{`{"attributes":{"team":"red","role":"\u0000"}}`, "attributes.role"},
		{`{"attributes":{"k\u0000":1}}`, "attributes.k"},
		{`{"cors_origins":["https://a.test","\udc00"]}`, "cors_origins.1"},
		{`{"a":[[],[{"b":["x",{"c":"\u0000"}]}]]}`, "a.1.0.b.1.c"},
		{"{\"first_name\":\"x\xffy\"}", "first_name"},
		{`{"é":{"\ud800":true}}`, "é.\uFFFD"},
	}
	for _, tt := range tests {
		var te *taruvi.Error
		if err := web.CheckJSONText([]byte(tt.body)); !errors.As(err, &te) || te.Code != taruvi.EINVALID || te.Fields[tt.field] == "" || len(te.Fields) != 1 {
			t.Errorf("CheckJSONText(%q) = %#v, want EINVALID naming %q", tt.body, err, tt.field)
		}
	}
	for _, body := range []string{`"\u0000"`, `["\u0000"]`, `{"a":1,"b":"\u0000`} {
		if err := web.CheckJSONText([]byte(body)); taruvi.ErrorCode(err) != taruvi.EBADREQUEST && taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("CheckJSONText(%q) = %v, want a 400", body, err)
		}
	}
}

// FuzzCheckJSONText holds CheckJSONText to its promise: whatever JSON it
// lets pass decodes to strings PostgreSQL can store and that say what was
// sent (no U+FFFD put in place of a bad byte or a lone surrogate).
func FuzzCheckJSONText(f *testing.F) {
	for _, tt := range jsonTextCases {
		f.Add(tt.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if web.CheckJSONText([]byte(body)) != nil {
			return
		}
		var v any
		if json.Unmarshal([]byte(body), &v) != nil {
			return
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if !web.ValidText(x) {
					t.Fatalf("%q passed, but decodes to %q", body, x)
				}
				if strings.ContainsRune(x, utf8.RuneError) && !strings.Contains(body, "\uFFFD") && !strings.Contains(strings.ToLower(body), `\ufffd`) {
					t.Fatalf("%q passed, but decodes to a replacement character: %q", body, x)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}

func TestCheckValues(t *testing.T) {
	t.Parallel()
	if err := web.CheckValues(url.Values{"name": {"Ann", "café"}, "é": {""}}); err != nil {
		t.Errorf("good values: %v", err)
	}
	err := web.CheckValues(url.Values{"name": {"ok", "a\x00"}, "bad\xff": {"x"}, "fine": {"x"}})
	var te *taruvi.Error
	if !errors.As(err, &te) || te.Code != taruvi.EINVALID || len(te.Fields) != 2 || te.Fields["name"] == "" || te.Fields["bad\uFFFD"] == "" {
		t.Errorf("bad values: %#v", err)
	}
}

// TestQueryString: a query string Go's parser would read in part, or whose
// text PostgreSQL cannot store, is a 400 before any handler runs, on every
// route.
func TestQueryString(t *testing.T) {
	t.Parallel()
	f := setup(t)
	srv := f.server(f.config())
	srv.Handle("GET /api/echo", func(w http.ResponseWriter, r *http.Request) error {
		web.WriteData(w, http.StatusOK, "Echo.", r.URL.Query())
		return nil
	})
	tests := []struct {
		name, query string
		status      int
		code        string
		body        string
	}{
		{"plain", "a=1&b=2", 200, "", `"a":["1"]`},
		{"escaped semicolon", "a=1%3B2", 200, "", `"a":["1;2"]`},
		{"escaped text", "q=caf%C3%A9", 200, "", `"q":["café"]`},
		{"semicolon separator", "a=1;b=2", 400, taruvi.EBADREQUEST, "semicolon"},
		{"semicolon in a value", "status=todo;drop", 400, taruvi.EBADREQUEST, "semicolon"},
		{"malformed escape", "a=%zz&b=2", 400, taruvi.EBADREQUEST, `%zz`},
		{"NUL in a value", "search=a%00b", 400, taruvi.EINVALID, `"search":"Use valid UTF-8`},
		{"NUL in a key", "a%00=1", 400, taruvi.EINVALID, `"errors":{"a":`},
		{"invalid UTF-8", "name=%ff", 400, taruvi.EINVALID, `"name":"Use valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/api/echo", "/api/nowhere", "/health/live"} {
				w := get(srv, "GET", path+"?"+tt.query, "localhost", nil)
				if path != "/api/echo" && tt.status == 200 {
					continue
				}
				if w.Code != tt.status {
					t.Fatalf("%s: status %d, want %d: %s", path, w.Code, tt.status, w.Body)
				}
				if tt.code != "" {
					checkEnvelope(t, w, tt.code)
				}
				if !strings.Contains(w.Body.String(), tt.body) {
					t.Errorf("%s: body lacks %s: %s", path, tt.body, w.Body)
				}
			}
		})
	}
}
