package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"taruvi"
)

// Text that PostgreSQL cannot store is refused here, at the edge, for every
// query string, form and JSON body, so that no such value reaches a
// statement (where it would fail as an internal error) and none is
// silently altered on the way (encoding/json turns invalid UTF-8 and lone
// surrogates into U+FFFD).

// textProblem is what a field holding text PostgreSQL refuses is told.
const textProblem = "Use valid UTF-8 text without NUL characters."

// ValidText reports whether s is text PostgreSQL can store: valid UTF-8
// without NUL characters.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// CheckValues returns EINVALID naming every key of values that is not
// ValidText, or whose values are not; nil when all are.
func CheckValues(values url.Values) error {
	fields := map[string]string{}
	for k, vs := range values {
		ok := ValidText(k)
		for _, v := range vs {
			ok = ok && ValidText(v)
		}
		if !ok {
			fields[fieldName(k)] = textProblem
		}
	}
	if len(fields) > 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid text.", Fields: fields}
	}
	return nil
}

// CheckQuery returns a 400 error when r's query string would not be read
// whole: Go's parser drops a pair holding a semicolon or a malformed
// escape without a word, so a filter could vanish from a list. It also
// refuses text PostgreSQL cannot store (CheckValues).
func CheckQuery(r *http.Request) error {
	raw := r.URL.RawQuery
	if strings.Contains(raw, ";") {
		return taruvi.Errorf(taruvi.EBADREQUEST, "The query string holds a semicolon: separate parameters with & and write a ; in a value as %%3B.")
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return taruvi.Errorf(taruvi.EBADREQUEST, "The query string holds a malformed escape %s: write a %% in a value as %%25.",
			strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	return CheckValues(values)
}

// checkQuery answers a request whose query string CheckQuery refuses with
// its error.
func (s *Server) checkQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			if err := CheckQuery(r); err != nil {
				WriteError(w, r, s.log, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// CheckJSONText refuses JSON text b that holds, in a string or a key,
// what PostgreSQL cannot store: invalid UTF-8, a NUL byte, the escape
// \u0000 (refused by jsonb, and by text once decoded), or a UTF-16
// surrogate escape without its other half (\ud800 alone), which
// encoding/json would turn into U+FFFD. The error is EINVALID naming the
// member ("attributes.team", "tags.0"), or EBADREQUEST when the text is
// not inside a member. It checks text only: malformed JSON is left to the
// decoder to report.
func CheckJSONText(b []byte) error {
	at, problem := badJSONText(b)
	if at < 0 {
		return nil
	}
	if path := jsonPath(b, at); path != "" {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid text.", Fields: map[string]string{path: problem}}
	}
	return taruvi.Errorf(taruvi.EBADREQUEST, "The body holds text that cannot be stored: %s", problem)
}

// badJSONText returns the offset in b of the first text PostgreSQL cannot
// store and what is wrong with it, or -1.
func badJSONText(b []byte) (int, string) {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		if bytes.IndexByte(b, '\\') < 0 {
			return -1, "" // the common body: nothing to look at twice
		}
		return badEscape(b)
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return i, "Use valid UTF-8 text."
		case r == 0:
			return i, textProblem
		}
		i += size
	}
	return badEscape(b)
}

// badEscape returns where b, valid UTF-8 JSON text, first holds a \u
// escape PostgreSQL refuses, and why; -1 when it holds none.
func badEscape(b []byte) (int, string) {
	inString := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+1 < len(b) && b[i+1] != 'u' {
				i++ // \" \\ \n ...: the escaped byte cannot end the string
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				continue // malformed; the decoder says so
			}
			switch {
			case r == 0:
				return i, `Remove the \u0000 escape: a NUL character cannot be stored.`
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, loneSurrogate(b[i : i+6])
			case r >= 0xD800 && r <= 0xDBFF:
				if low, ok := hex4(b, i+8); !ok || b[i+6] != '\\' || b[i+7] != 'u' || low < 0xDC00 || low > 0xDFFF {
					return i, loneSurrogate(b[i : i+6])
				}
				i += 6 // the pair's low half
			}
			i += 5
		}
	}
	return -1, ""
}

func loneSurrogate(escape []byte) string {
	return fmt.Sprintf("The escape %s is half of a UTF-16 surrogate pair without its other half.", escape)
}

// jsonPath returns the dotted path of the member or element of JSON text
// b whose key or value holds byte offset at: "name", "attributes.team",
// "cors_origins.0"; "" when it is no member's, or b is malformed before.
func jsonPath(b []byte, at int) string {
	type level struct {
		object  bool
		wantKey bool   // in an object, the next string is a key
		name    string // the member's key, or the element's index
		index   int
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		key, isKey := tok.(string)
		isKey = isKey && top != nil && top.object && top.wantKey
		switch {
		case isKey:
			top.name, top.wantKey = key, false
		case top != nil && !top.object && tok != json.Delim(']'):
			top.name = strconv.Itoa(top.index)
		}
		if int(dec.InputOffset()) > at {
			names := make([]string, len(stack))
			for i, l := range stack {
				names[i] = fieldName(l.name)
			}
			return strings.Join(names, ".")
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				stack = append(stack, &level{object: d == '{', wantKey: true})
				continue
			}
			stack = stack[:len(stack)-1]
		}
		// A value is done: the next member, or the next element.
		if !isKey && len(stack) > 0 {
			if l := stack[len(stack)-1]; l.object {
				l.wantKey = true
			} else {
				l.index++
			}
		}
	}
}

// fieldName is s as a field name in an error: without what made it bad.
func fieldName(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// hex4 reads the four hexadecimal digits of a \u escape at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	r, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return rune(r), err == nil
}
