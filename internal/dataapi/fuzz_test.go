package dataapi_test

import (
	"context"
	"go/scanner"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/dataapi"
	"taruvi/internal/web"
)

// FuzzQuery feeds arbitrary query strings, filter trees and filter=
// objects included, to a list and a bulk delete of the orders, over rows
// of every field type. Neither may panic or fail with an internal error
// (every bad input is a 4xx), and every statement they run is made of
// the package's own SQL and the definition's names only: each word of it
// appears in a string literal of the package's source or names a field or
// table, each quoted literal is one of the source's, each quoted
// identifier one of the definition's, and nothing can end a statement or
// open a comment. No row is ever deleted: the row policy refuses deletes.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{
		"qty=2&ordering=-qty,note&page=2&page_size=3", "qty__in=1,3&note__contains=app%25le", "note__ina=A,B&note__nina=c",
		"total__between=10,30&paid=True&placed__gte=2024-01-01&at__lt=2024-01-15T00:00:00Z&tm__gt=12:00",
		"ref=aaaaaaaa-0000-4000-8000-000000000001&tags__acontains=a,b&tags__aoverlap=1,x&meta__acontains=%7B%22a%22%3A1%7D",
		"tags__aelement=b&tags__naelement=c&tags__acontainedby=%5B1%2C2%5D&note__null=true&note__nnull=false&note__isnull=True",
		"note__like=%25a_&note__ilike=x&note__startswiths=a&note__nendswith=b&note__search=apple%20-pie",
		`filters=%7B%22or%22%3A%5B%7B%22qty%22%3A1%7D%2C%7B%22qty__gte%22%3A5%7D%5D%7D&qty__ne=3`,
		`filters=%5B%7B%22operator%22%3A%22or%22%2C%22value%22%3A%5B%7B%22field%22%3A%22note%22%2C%22operator%22%3A%22in%22%2C%22value%22%3A%5B%22a%2Cb%22%5D%7D%5D%7D%5D`,
		`filters=%7B%22not%22%3A%7B%22paid%22%3Atrue%7D%7D`, `filters=%22%7B%7D%22`, "filters=%5B%5D&filters=%7B%7D",
		"_aggregate=count(*),sum(total)%20as%20s,string_agg(note,%20'%7C')&_group_by=paid&_having=s%20%3E%201%20or%20count%20%3C%3D%202&ordering=-s",
		"_aggregate=avg(qty),min(placed),max(at),array_agg(tags),json_agg(meta),stddev(qty),variance(total),count(distinct%20note)",
		"search=apple%20or%20%22red%20pie%22&fields=qty,note&populate=customer_id.user_id&_count=true",
		"ids=1,2&filter=%7B%22qty__gte%22%3A1%2C%22filters%22%3A%22%7B%5C%22or%5C%22%3A%5B%7B%5C%22qty%5C%22%3A1%7D%5D%7D%22%7D",
		"filter=%7B%22note%22%3Anull%7D", "note='%3B%20DROP%20TABLE%20x%3B--", "note__contains=%27%22%5C&qty__in=1%2C%27",
		"ordering=-qty&page_size=1000&page=1000000", "qty=9223372036854775808", "total=1e9999&total__gt=-.5e-3",
		"_having=count%20%3E%200", "nope__eq=1", "note__rcontains=1", "%zz", "a=%00", "note=%C3%28",
	} {
		f.Add(seed)
	}
	vocab := sourceVocabulary(f)
	var mu sync.Mutex
	var statements []string
	observe := func(sql string) {
		mu.Lock()
		statements = append(statements, sql)
		mu.Unlock()
	}
	noDeletes := func(ctx context.Context, def *taruvi.Datatable, action string, b dataapi.Binder) (string, error) {
		if action == dataapi.ActionDelete {
			return "FALSE", nil
		}
		return "", nil
	}
	s := newStack(f, dataapi.WithObserver(observe), dataapi.WithRowPolicy(noDeletes))
	tt := s.newTenant(f)
	tt.shop(f)
	seedOrders(f, tt)
	for _, w := range []string{"dt_customers", "dt_orders", "dt_lines", "dt_docs"} {
		vocab[w] = true
	}
	identifiers := map[string]bool{}
	for _, def := range []string{customersDef, ordersDef, linesDef, docsDef} {
		for _, w := range regexp.MustCompile(`"name":"([a-z_]+)"`).FindAllStringSubmatch(def, -1) {
			vocab[w[1]] = true
			identifiers[pgx.Identifier{w[1]}.Sanitize()] = true
		}
	}
	for _, w := range []string{"dt_customers", "dt_orders", "dt_lines", "dt_docs", "search_vector"} {
		identifiers[pgx.Identifier{w}.Sanitize()] = true
	}
	vocab["'"+dataapi.SearchConfig+"'"] = true // the package spells its constant into statements
	literals := map[string]bool{}
	for w := range vocab {
		if strings.HasPrefix(w, "'") {
			literals[w] = true
		}
	}
	var routes = map[string]func(http.ResponseWriter, *http.Request) error{}
	for _, r := range s.svc.Routes() {
		routes[r.Pattern] = r.Handler
	}
	ctx := taruvi.NewContextWithPrincipal(tt.ctx, &taruvi.Principal{Audience: tt.tenant.Schema, IsOwner: true})

	f.Fuzz(func(t *testing.T, query string) {
		for _, method := range []string{"GET", "DELETE"} {
			mu.Lock()
			statements = nil
			mu.Unlock()
			r := httptest.NewRequestWithContext(ctx, method, "/api/apps/shop/datatables/orders/data", nil)
			r.URL.RawQuery = query
			r.SetPathValue("app", "shop")
			r.SetPathValue("name", "orders")
			err := routes[method+" /api/apps/{app}/datatables/{name}/data"](httptest.NewRecorder(), r)
			if code := taruvi.ErrorCode(err); code == taruvi.EINTERNAL || (err != nil && web.ErrorStatus(code) >= 500) {
				t.Fatalf("%s ?%s: an internal error: %v", method, query, err)
			}
			mu.Lock()
			ran := append([]string(nil), statements...)
			mu.Unlock()
			for _, sql := range ran {
				checkStatement(t, sql, vocab, literals, identifiers)
			}
		}
	})
}

// checkStatement fails t unless sql is made of the package's words and
// literals and the definition's identifiers only.
func checkStatement(t *testing.T, sql string, vocab, literals, identifiers map[string]bool) {
	t.Helper()
	rest := sql
	for lit := range literals {
		rest = strings.ReplaceAll(rest, lit, " ")
	}
	for id := range identifiers {
		rest = strings.ReplaceAll(rest, id, " ")
	}
	if strings.ContainsAny(rest, `'";\`) || strings.Contains(rest, "--") || strings.Contains(rest, "/*") {
		t.Fatalf("a statement with a quote, semicolon or comment of its own: %s", sql)
	}
	for _, w := range regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`).FindAllString(rest, -1) {
		if !vocab[w] && !vocab[strings.ToLower(w)] {
			t.Fatalf("the word %q of a statement is not the package's: %s", w, sql)
		}
	}
}

// sourceVocabulary is every word and every quoted SQL literal in the
// string literals of the package's source (not its tests).
func sourceVocabulary(t testing.TB) map[string]bool {
	vocab := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var s scanner.Scanner
		fset := token.NewFileSet()
		s.Init(fset.AddFile(name, -1, len(src)), src, nil, 0)
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok != token.STRING && tok != token.CHAR {
				continue
			}
			for _, w := range regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`).FindAllString(lit, -1) {
				vocab[w] = true
			}
			for _, l := range regexp.MustCompile(`'[^']*'`).FindAllString(lit, -1) {
				vocab[l] = true
			}
		}
	}
	if len(vocab) < 50 {
		t.Fatalf("only %d words in the package's source", len(vocab))
	}
	return vocab
}
