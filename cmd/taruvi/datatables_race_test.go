package main

import (
	"fmt"
	"sync"
	"testing"
)

// TestDatatableChangedUnderRequestsIsNever5xx: requests to a datatable's
// rows that race with the table's drop, its app's deletion, or a change
// removing the field they name get a 4xx (the table or field is gone) or
// succeed before it went, never a 5xx.
func TestDatatableChangedUnderRequestsIsNever5xx(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	_, c := s.siteClients(t, s.newSite(t, "owner"))
	const def = `{"name":"t","schema":{"fields":[{"name":"email","type":"string"},{"name":"extra","type":"string"}]}}`
	rows := "/api/apps/race/datatables/t/data/"
	for round := range 6 {
		c.must(t, 201, "POST", "/api/apps/", `{"name":"Race"}`)
		c.must(t, 201, "POST", "/api/apps/race/datatables/", def)
		createRow(t, c, rows, `{"email":"seed@x","extra":"e"}`)
		var change [3]string
		switch round % 3 {
		case 0:
			change = [3]string{"DELETE", "/api/apps/race/datatables/t/", ""}
		case 1:
			change = [3]string{"DELETE", "/api/apps/race/", ""}
		case 2:
			change = [3]string{"PUT", "/api/apps/race/datatables/t/", `{"name":"t","schema":{"fields":[{"name":"id","type":"uuid"},{"name":"email","type":"string"}]}}`}
		}
		type answer struct {
			what   string
			status int
			body   string
		}
		answers := make([]answer, 9)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := &answers[i]
				switch {
				case i == 0:
					a.what = change[0] + " " + change[1]
					a.status, a.body = c.call(t, change[0], change[1], change[2])
				case i%3 == 0:
					a.what = "GET"
					a.status, a.body = c.call(t, "GET", rows+"?extra=e", "")
				case i%3 == 1:
					a.what = "POST"
					a.status, a.body = c.call(t, "POST", rows, fmt.Sprintf(`{"email":"w%d@x","extra":"e"}`, i))
				default:
					a.what = "PATCH"
					a.status, a.body = c.call(t, "PATCH", rows+"?", fmt.Sprintf(`[{"id":"00000000-0000-0000-0000-00000000000%d","extra":"x"}]`, i))
				}
			}()
		}
		wg.Wait()
		for _, a := range answers {
			if a.status >= 500 {
				t.Errorf("round %d: %s during %s %s: %d %.300s", round, a.what, change[0], change[1], a.status, a.body)
			}
		}
		if round%3 == 2 {
			c.must(t, 200, "DELETE", "/api/apps/race/", "")
		} else if round%3 == 0 {
			c.must(t, 200, "DELETE", "/api/apps/race/", "")
		}
	}
}
