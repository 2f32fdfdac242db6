package dataschema

import (
	"encoding/json"
	"strings"
	"testing"

	"taruvi"
)

// FuzzNormalize: whatever definition arrives, Normalize refuses it with
// EINVALID or accepts it, and what it accepts creates and plans without
// error, with every identifier quoted.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		`{"name":"books","schema":{"fields":[{"name":"title","type":"string","constraints":{"enum":["a'b"],"pattern":"^x"}}]}}`,
		`{"name":"n","schema":{"primaryKey":"k","fields":[{"name":"k","type":"integer"},{"name":"p","type":"integer"}],
			"foreignKeys":[{"fields":"p","reference":{"resource":"n"},"onDelete":"cascade"}]},"indexes":[{"fields":["p"],"method":"brin"}]}`,
		`{"name":"o","schema":{"fields":[{"name":"m","type":"object","default":{"a":"'); DROP TABLE x; --"}}]},"search_fields":["m"]}`,
		`{"name":"q","schema":{"fields":[{"name":"d","type":"date","default":"now"},{"name":"x","type":"number","constraints":{"minimum":-1.5e3}}]}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in taruvi.Datatable
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		d, err := Normalize(&in, lookup)
		if err != nil {
			if taruvi.ErrorCode(err) != taruvi.EINVALID {
				t.Fatalf("%s: %v", body, err)
			}
			return
		}
		d.Table = TableName(1, d.Name)
		stmts, err := Create(d, lookup)
		if err != nil {
			t.Fatalf("create %s: %v", body, err)
		}
		if !strings.HasPrefix(stmts[0], `CREATE TABLE "`+d.Table+`" (`) {
			t.Fatalf("create %s: %s", body, stmts[0])
		}
		if _, err := Diff(d, d, lookup); err != nil {
			t.Fatalf("diff %s: %v", body, err)
		}
	})
}
