package config_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"taruvi/internal/config"
)

// env returns a getenv that knows only vars.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"DatabaseURL", c.DatabaseURL, ""},
		{"HTTPAddr", c.HTTPAddr, ":8000"},
		{"BaseDomain", c.BaseDomain, "localhost"},
		{"PlatformHosts", strings.Join(c.PlatformHosts, ","), "localhost,127.0.0.1,::1"},
		{"TrustTenantHeader", c.TrustTenantHeader, false},
		{"LogFormat", c.LogFormat, "json"},
		{"LogLevel", c.LogLevel, "info"},
		{"DBMaxConns", c.DBMaxConns, 0},
		{"MigrateWorkers", c.MigrateWorkers, 8},
		{"LockTimeout", c.LockTimeout, 5 * time.Second},
		{"ShutdownTimeout", c.ShutdownTimeout, 15 * time.Second},
		{"DataDir", c.DataDir, ".taruvi"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("default %s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// What Entries shows reads back as the same configuration.
	shown := map[string]string{}
	for _, e := range c.Entries() {
		shown[e.Name] = e.Value
	}
	again, err := config.Load(env(shown))
	if err != nil || fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", c) {
		t.Errorf("loading the entries gives %+v, %v; want %+v", again, err, c)
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"TARUVI_DATABASE_URL":        "postgresql://taruvi@db:5432/taruvi",
		"TARUVI_HTTP_ADDR":           "127.0.0.1:9000",
		"TARUVI_BASE_DOMAIN":         "Example.COM.",
		"TARUVI_PLATFORM_HOSTS":      " App.Example.com:8000 , [::1]:8000,,10.0.0.1 ",
		"TARUVI_TRUST_TENANT_HEADER": "true",
		"TARUVI_LOG_FORMAT":          "TEXT",
		"TARUVI_DB_MAX_CONNS":        " 64 ",
		"TARUVI_LOCK_TIMEOUT":        "250ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgresql://taruvi@db:5432/taruvi" || c.HTTPAddr != "127.0.0.1:9000" || c.BaseDomain != "example.com" ||
		!slices.Equal(c.PlatformHosts, []string{"app.example.com", "::1", "10.0.0.1"}) || !c.TrustTenantHeader ||
		c.LogFormat != "text" || c.DBMaxConns != 64 || c.LockTimeout != 250*time.Millisecond {
		t.Fatalf("loaded %+v", c)
	}
}

func TestLoadRejectsInvalidValues(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, value string }{
		{"TARUVI_HTTP_ADDR", "abc"},
		{"TARUVI_HTTP_ADDR", "localhost:"},
		{"TARUVI_LOG_FORMAT", "xml"},
		{"TARUVI_LOG_LEVEL", "verbose"},
		{"TARUVI_DB_MAX_CONNS", "-1"},
		{"TARUVI_DB_MAX_CONNS", "many"},
		{"TARUVI_MIGRATE_WORKERS", "-3"},
		{"TARUVI_LOCK_TIMEOUT", "-1s"},
		{"TARUVI_LOCK_TIMEOUT", "5"},
		{"TARUVI_SHUTDOWN_TIMEOUT", "0s"},
		{"TARUVI_DATABASE_URL", "mysql://x"},
		{"TARUVI_DATABASE_URL", "host=db user=taruvi"},
		{"TARUVI_TRUST_TENANT_HEADER", "maybe"},
		{"TARUVI_BASE_DOMAIN", "bad domain"},
		{"TARUVI_PLATFORM_HOSTS", " , "},
		{"TARUVI_PLATFORM_HOSTS", "localhost,bad host"},
	}
	for _, tt := range tests {
		_, err := config.Load(env(map[string]string{tt.name: tt.value}))
		if err == nil {
			t.Errorf("%s=%q loaded without error", tt.name, tt.value)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.name+": ") {
			t.Errorf("%s=%q: error %q does not start with the variable's name", tt.name, tt.value, err)
		}
	}
}

func TestLoadErrorHidesDatabasePassword(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env(map[string]string{"TARUVI_DATABASE_URL": "mysql://root:hunter2@db/x"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v: want an error without the password", err)
	}
}

func TestEntriesMaskPasswords(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"postgres://taruvi:hunter2@db:5432/taruvi?sslmode=disable",
		"postgres://taruvi@db:5432/taruvi?password=hunter2&sslmode=disable",
	} {
		c, err := config.Load(env(map[string]string{"TARUVI_DATABASE_URL": url, "TARUVI_HTTP_ADDR": ":9000"}))
		if err != nil {
			t.Fatal(err)
		}
		entries := c.Entries()
		if len(entries) != len(config.Variables()) {
			t.Fatalf("%d entries for %d variables", len(entries), len(config.Variables()))
		}
		values := map[string]string{}
		for _, e := range entries {
			values[e.Name] = e.Value
		}
		db := values["TARUVI_DATABASE_URL"]
		if strings.Contains(db, "hunter2") || !strings.Contains(db, "taruvi") || !strings.Contains(db, "db:5432") {
			t.Errorf("masked %s as %q: want user and host kept, password gone", url, db)
		}
		if values["TARUVI_HTTP_ADDR"] != ":9000" {
			t.Errorf("TARUVI_HTTP_ADDR shown as %q, want :9000", values["TARUVI_HTTP_ADDR"])
		}
		if c.DatabaseURL != url {
			t.Errorf("Config.DatabaseURL = %q, masking must not change the value in use", c.DatabaseURL)
		}
	}
}
