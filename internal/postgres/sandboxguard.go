package postgres

import (
	"strings"

	"taruvi"
)

// The guard is the sandboxed door's cheap first line: it refuses, before
// any round trip, statements that tenant-written SQL never needs. It reads
// the statement as PostgreSQL's lexer would (comments, string constants,
// dollar quotes and quoted identifiers), so no spelling hides a keyword
// from it, yet it is no parser: it errs on the side of refusing. The
// guarantee is elsewhere, in the database's privileges (the session user
// is the tenant's own role); the guard also keeps out what privileges do
// not cover, such as NOTIFY, LISTEN, or a role changing its own password
// and settings.

// sqlToken is one token of a statement: a word (a keyword or an unquoted
// identifier, lower-cased; or a quoted identifier, lower-cased too, so the
// guard also refuses "SET_CONFIG", which names no function), or one
// character of punctuation.
type sqlToken struct {
	text string
	word bool
}

// lexSQL splits statement into tokens, dropping comments, white space,
// string constants and parameters. ok is false for an unterminated
// comment, string or quoted identifier.
func lexSQL(statement string) (tokens []sqlToken, ok bool) {
	s := statement
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return tokens, true
			}
			i += end + 1
		case strings.HasPrefix(s[i:], "/*"):
			depth, j := 1, i+2
			for depth > 0 {
				switch {
				case j >= len(s)-1:
					return nil, false
				case s[j] == '/' && s[j+1] == '*':
					depth, j = depth+1, j+2
				case s[j] == '*' && s[j+1] == '/':
					depth, j = depth-1, j+2
				default:
					j++
				}
			}
			i = j
		case c == '\'':
			// E'...' strings are caught by the word branch below, which
			// sees the E first; here every quote is doubled to escape.
			end, ok := skipQuoted(s, i, '\'', false)
			if !ok {
				return nil, false
			}
			i = end
		case c == '"':
			end, ok := skipQuoted(s, i, '"', false)
			if !ok {
				return nil, false
			}
			tokens = append(tokens, sqlToken{text: strings.ToLower(strings.ReplaceAll(s[i+1:end-1], `""`, `"`)), word: true})
			i = end
		case c == '$':
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) && s[j] != '$' && !(j == i+1 && s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j < len(s) && s[j] == '$' { // $tag$ ... $tag$
				tag := s[i : j+1]
				end := strings.Index(s[j+1:], tag)
				if end < 0 {
					return nil, false
				}
				i = j + 1 + end + len(tag)
				break
			}
			for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ { // $1
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := strings.ToLower(s[i:j])
			if j < len(s) && s[j] == '\'' && (word == "e" || word == "b" || word == "x" || word == "n") {
				end, ok := skipQuoted(s, j, '\'', word == "e")
				if !ok {
					return nil, false
				}
				i = end
				break
			}
			if word == "u" && strings.HasPrefix(s[j:], "&'") || word == "u" && strings.HasPrefix(s[j:], `&"`) {
				q := s[j+1]
				end, ok := skipQuoted(s, j+1, q, false)
				if !ok {
					return nil, false
				}
				if q == '"' {
					// A Unicode-escaped identifier could spell any name:
					// keep it as a word the guard never allows.
					tokens = append(tokens, sqlToken{text: "u&", word: true})
				}
				i = end
				break
			}
			tokens = append(tokens, sqlToken{text: word, word: true})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for i++; i < len(s) && (isIdentChar(s[i]) || s[i] == '.'); i++ {
			}
		default:
			tokens = append(tokens, sqlToken{text: string(c)})
			i++
		}
	}
	return tokens, true
}

// skipQuoted returns the index just past the quoted text that starts at
// s[start] (a quote character q), where q is escaped by doubling and, with
// backslashes, by a backslash.
func skipQuoted(s string, start int, q byte, backslashes bool) (end int, ok bool) {
	for j := start + 1; j < len(s); j++ {
		switch {
		case backslashes && s[j] == '\\':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1, true
		}
	}
	return 0, false
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// Statements the sandboxed door runs, by their first words. Queries are
// read through a cursor, which takes only these.
var sandboxQueryStarts = []string{"select", "with", "values", "table", "("}

// sandboxExecStarts are the statements SandboxExec runs besides queries:
// writes to the tenant's tables and DDL of tables, views, indexes and
// sequences. No functions, triggers, rules, types, roles, grants,
// session or transaction control.
var sandboxExecStarts = []string{
	"insert", "update", "delete", "merge", "truncate", "refresh materialized view",
	"comment on table", "comment on column", "comment on view", "comment on materialized view",
	"comment on index", "comment on sequence",
	"create table", "create unlogged table", "create index", "create unique index", "create view",
	"create or replace view", "create recursive view", "create materialized view", "create sequence",
	"alter table", "alter index", "alter view", "alter materialized view", "alter sequence",
	"drop table", "drop index", "drop view", "drop materialized view", "drop sequence",
}

// sandboxDeniedWords may appear nowhere in a statement, as a keyword or as
// a name: functions that change settings or the role, signal or listen,
// read the server's files, run SQL given as text, take advisory locks
// (which outlive the call), and the schema of temporary objects (which
// outlive it too, and would shadow the tenant's tables), and the platform's
// job enqueue, which is for the platform's statements only.
var sandboxDeniedWords = map[string]bool{
	"set_config": true, "pg_notify": true, "pg_read_file": true, "pg_read_binary_file": true,
	"pg_ls_dir": true, "pg_stat_file": true, "pg_file_write": true, "pg_terminate_backend": true,
	"pg_cancel_backend": true, "pg_reload_conf": true, "pg_rotate_logfile": true,
	"pg_switch_wal": true, "pg_promote": true, "query_to_xml": true, "query_to_xmlschema": true,
	"query_to_xml_and_xmlschema": true, "cursor_to_xml": true, "cursor_to_xmlschema": true,
	"ts_stat": true, "ts_rewrite": true, "pg_import_system_collations": true, "u&": true, "pg_temp": true,
	"enqueue_job": true,
}

// sandboxDeniedPairs are denied pairs of consecutive words, whose first
// word alone is a fine column name: a function running as its owner, an
// object given to another role, a temporary object.
var sandboxDeniedPairs = map[[2]string]bool{
	{"security", "definer"}: true, {"owner", "to"}: true,
	{"create", "temp"}: true, {"create", "temporary"}: true, {"into", "temp"}: true, {"into", "temporary"}: true,
	{"local", "temp"}: true, {"local", "temporary"}: true, {"global", "temp"}: true, {"global", "temporary"}: true,
}

// sandboxDeniedPrefixes are denied word prefixes: families of functions.
var sandboxDeniedPrefixes = []string{"lo_", "dblink", "pg_advisory", "pg_try_advisory", "pg_logical_",
	"pg_replication_", "pg_create_", "pg_drop_replication", "pg_ls_", "pg_temp_"}

// checkSandboxSQL refuses a statement the sandboxed door never runs: more
// than one statement, a statement of a kind not allowed (exec adds the
// writes and DDL of sandboxExecStarts to queries), or a denied word. It
// returns the statement without its trailing semicolons.
func checkSandboxSQL(statement string, exec bool) (string, error) {
	tokens, ok := lexSQL(statement)
	if !ok {
		return "", taruvi.Errorf(taruvi.EBADREQUEST, "The statement has an unterminated comment, string or quoted name.")
	}
	for len(tokens) > 0 && tokens[len(tokens)-1].text == ";" {
		tokens = tokens[:len(tokens)-1]
	}
	if len(tokens) == 0 {
		return "", taruvi.Errorf(taruvi.EBADREQUEST, "The statement is empty.")
	}
	for i, t := range tokens {
		switch {
		case t.text == ";":
			return "", taruvi.Errorf(taruvi.EBADREQUEST, "Send one statement at a time.")
		case !t.word:
		case sandboxDeniedWords[t.text] || hasAnyPrefix(t.text, sandboxDeniedPrefixes):
			return "", taruvi.Errorf(taruvi.EBADREQUEST, "%q is not allowed in this statement.", t.text)
		case i > 0 && tokens[i-1].word && sandboxDeniedPairs[[2]string{tokens[i-1].text, t.text}]:
			return "", taruvi.Errorf(taruvi.EBADREQUEST, "%q is not allowed in this statement.", tokens[i-1].text+" "+t.text)
		}
	}
	if !startsWithAny(tokens, sandboxQueryStarts) && (!exec || !startsWithAny(tokens, sandboxExecStarts)) {
		kind := "a query (SELECT, WITH, VALUES or TABLE)"
		if exec {
			kind = "a query, a write, or DDL of tables, views, indexes and sequences"
		}
		return "", taruvi.Errorf(taruvi.EBADREQUEST, "This statement is not allowed here: send %s.", kind)
	}
	// The tokens dropped only white space and comments after the last
	// semicolon kept; cut the statement there.
	return strings.TrimRight(strings.TrimSpace(statement), "; \t\r\n"), nil
}

// startsWithAny reports whether the first tokens spell one of starts
// (space-separated words).
func startsWithAny(tokens []sqlToken, starts []string) bool {
	for _, start := range starts {
		words := strings.Fields(start)
		if len(words) > len(tokens) {
			continue
		}
		match := true
		for i, w := range words {
			if tokens[i].text != w || (w != "(" && !tokens[i].word) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
