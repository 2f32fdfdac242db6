package dataapi

import (
	"strings"
	"testing"

	"taruvi"
)

// patternTable is a datatable with one string field of the pattern.
func patternTable(t *testing.T, pattern string) *table {
	t.Helper()
	tb, err := newTable(&taruvi.Datatable{Name: "things", Table: "dt_1_things", Schema: taruvi.TableSchema{
		PrimaryKey: taruvi.Names{"id"},
		Fields: []taruvi.TableField{{Name: "id", Type: taruvi.FieldUUID},
			{Name: "code", Type: taruvi.FieldString, Constraints: taruvi.FieldConstraints{Pattern: pattern}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestPatternsCompileOnceAndStayInBudget(t *testing.T) {
	t.Parallel()
	a, b := patternTable(t, "^[a-z]+$"), patternTable(t, "^[a-z]+$")
	if a.byName["code"].pattern == nil || a.byName["code"].pattern != b.byName["code"].pattern {
		t.Fatal("a pattern is compiled again for each table")
	}
	code := a.byName["code"]
	if msg := code.checkString("abc"); msg != "" {
		t.Errorf("abc: %s", msg)
	}
	if msg := code.checkString("ABC"); msg == "" {
		t.Error("ABC matches ^[a-z]+$")
	}
	// A value whose check costs more than a value may is left to the
	// database's CHECK.
	if msg := code.checkString(strings.Repeat("A", valueBudget)); msg != "" {
		t.Errorf("a value past the budget was checked in Go: %s", msg)
	}
	// So are the values past what a request may spend.
	c := patternTable(t, "^[a-z]+$").byName["code"]
	value := strings.Repeat("A", int(valueBudget/c.pattern.insts)-1)
	checked := 0
	for range 2 * patternBudget / valueBudget {
		if c.checkString(value) != "" {
			checked++
		}
	}
	if checked == 0 || checked >= 2*patternBudget/valueBudget {
		t.Errorf("%d values of %d checked in Go", checked, 2*patternBudget/valueBudget)
	}
	// A pattern too large to check in Go is left to the database.
	big := patternTable(t, strings.Repeat("[ab]?", 1000)+"c").byName["code"]
	if big.pattern != nil || big.checkString("zzz") != "" {
		t.Error("a pattern past maxPatternProgram is checked in Go")
	}
}
