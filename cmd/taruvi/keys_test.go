package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"taruvi/internal/auth"
	"taruvi/internal/postgres"
	"taruvi/internal/token"
)

// TestKeysRotateOnDev: `keys rotate` started beside a running `taruvi dev`
// seals the new key with the dev's secret key, which it reads from the
// data folder, and refuses another secret key; the dev then verifies
// tokens signed with the new key, loading it with its own secret.
func TestKeysRotateOnDev(t *testing.T) {
	t.Parallel()
	dir := devDataDir(t)
	vars := devVars(dir)
	_, port := startDev(t, vars)
	access := devLogin(t, port)
	dev, ok := runningDev(dir)
	if !ok || dev.DatabaseURL == "" {
		t.Fatalf("no running dev on %s: %+v", dir, dev)
	}

	other := maps.Clone(vars)
	other["TARUVI_SECRET_KEY"] = strings.Repeat("another secret key ", 3)
	cliCase{args: []string{"keys", "rotate"}, code: 1,
		message: []string{"TARUVI_SECRET_KEY is not the secret key of the taruvi dev", "unset it"}}.check(t, other)
	// Named explicitly, the dev's database still refuses a key it could
	// not open.
	other["TARUVI_DATABASE_URL"] = dev.DatabaseURL
	cliCase{args: []string{"keys", "rotate"}, code: 1, message: []string{"was TARUVI_SECRET_KEY changed?"}}.check(t, other)

	r := cliCase{args: []string{"keys", "rotate"}, stdout: []string{"new signing key"}}.check(t, vars)
	if !strings.Contains(r.stderr, "using the database of taruvi dev") {
		t.Errorf("keys rotate does not say which database it uses:\n%s", r.stderr)
	}
	kid := regexp.MustCompile(`new signing key (\S+) signs`).FindStringSubmatch(r.stdout)[1]
	secret, err := os.ReadFile(filepath.Join(dir, devSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	same := maps.Clone(vars)
	same["TARUVI_SECRET_KEY"] = strings.TrimSpace(string(secret))
	cliCase{args: []string{"keys", "rotate"}, stdout: []string{"new signing key"}}.check(t, same)

	// The key the first rotation made, opened as the dev opens it, signs
	// a token the dev accepts (an unknown kid makes it reload its keys).
	key := signingKey(t, dev.DatabaseURL, string(secret), kid)
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(access, &claims); err != nil {
		t.Fatal(err)
	}
	resigned := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	resigned.Header["kid"] = key.ID
	signed, err := resigned.SignedString(key.Private)
	if err != nil {
		t.Fatal(err)
	}
	if n := devTotal(t, port, signed, "/api/projects/"); n != len(demoProjects) {
		t.Errorf("%d demo projects with a token of the new key, want %d", n, len(demoProjects))
	}
	if n := devTotal(t, port, devLogin(t, port), "/api/projects/"); n != len(demoProjects) {
		t.Errorf("%d demo projects after the rotation, want %d", n, len(demoProjects))
	}
}

// signingKey returns the stored signing key kid, opened with secret.
func signingKey(t *testing.T, databaseURL, secret, kid string) token.Key {
	t.Helper()
	ctx := context.Background()
	cfg, err := loadConfig(env{getenv: func(name string) string {
		if name == "TARUVI_DATABASE_URL" {
			return databaseURL
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sealer, err := token.NewSealer(strings.TrimSpace(secret))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.SigningKeys(ctx, postgres.NewAuthStore(db), sealer)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == kid {
			return k
		}
	}
	t.Fatalf("no signing key %s among %d", kid, len(keys))
	return token.Key{}
}
