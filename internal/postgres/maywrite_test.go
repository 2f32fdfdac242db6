package postgres

import "testing"

// TestMayWrite: every writing keyword counts, in any case and next to any
// punctuation; words that only contain one do not.
func TestMayWrite(t *testing.T) {
	for statement, want := range map[string]bool{
		`INSERT INTO t VALUES (1)`:                                  true,
		`with x as (update t set a = 1 returning *) ...`:            true,
		`SELECT 1;DELETE FROM t`:                                    true,
		`merge into t using s on true when matched then do nothing`: true,
		"\ttruncate\tt":                                             true,
		`SELECT * FROM t FOR UPDATE`:                                true,
		`SELECT inserted, updates FROM t`:                           false,
		`SELECT count(*) FROM deleted_rows`:                         false, // "deleted" is another word
		`SELECT * FROM insert_log`:                                  true,  // "insert" before the underscore: errs on yes
		`SELECT 1`:                                                  false,
		``:                                                          false,
		`SELECT 'INSERTS' FROM mergers`:                             false,
	} {
		if got := mayWrite(statement); got != want {
			t.Errorf("mayWrite(%q) = %v, want %v", statement, got, want)
		}
	}
}
