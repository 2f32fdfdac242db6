package config_test

import (
	"os"
	"strings"
	"testing"

	"taruvi/internal/config"
)

// TestREADMEConfigurationTable keeps the README's configuration table true:
// every variable appears in a row of its own with its default.
func TestREADMEConfigurationTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `TARUVI_") {
			cells := strings.Split(line, "|")
			rows[strings.Trim(cells[1], " `")] = strings.Trim(cells[2], " `")
		}
	}
	for _, v := range config.Variables() {
		got, ok := rows[v.Name]
		if !ok {
			t.Errorf("README has no configuration row for %s", v.Name)
			continue
		}
		want := v.Default
		if want == "" {
			want = "(empty)"
		}
		if got != want {
			t.Errorf("README gives %s the default %q, the code %q", v.Name, got, want)
		}
		delete(rows, v.Name)
	}
	for name := range rows {
		t.Errorf("README documents %s, which the code does not read", name)
	}
}
