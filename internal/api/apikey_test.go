package api_test

import (
	"testing"
	"time"

	"taruvi"
)

const apiKeysPath = "/api/auth/api-keys"

// TestAPIKeys: the secret is shown once; a key signs its user in until it
// is revoked or expires.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a, b := s.newTenant(t), s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	s.createUser(t, a, taruvi.UserCreate{Email: "bob@example.test", Password: "password of bob"})
	ann := s.login(t, a.host, "ann@example.test", "password of ann")
	bob := s.login(t, a.host, "bob@example.test", "password of bob")
	inAnHour := s.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	anHourAgo := s.clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	// damage changes the last character of the key named by vars["key"].
	damage := func(v map[string]string) {
		k := v["key"]
		last := byte('A')
		if k[len(k)-1] == 'A' {
			last = 'B'
		}
		v["damaged"] = k[:len(k)-1] + string(last)
	}

	s.scenario(nil).run(t, []row{
		{name: "create", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(ann.Access), body: `{"name":"ci"}`,
			status: 201, want: []string{`"name":"ci"`, `"key":"tk_`, `"prefix":"`, `"expires_at":null`, `"last_used_at":null`, `"revoked_at":null`},
			header: []string{"Cache-Control"}, save: map[string]string{"key": "data.key", "prefix": "data.prefix", "keyID": "data.id"}},
		{name: "the list shows the prefix and never the secret", method: "GET", path: apiKeysPath, host: a.host, cred: bearer(ann.Access),
			status: 200, want: []string{`"prefix":"{{prefix}}"`, `"name":"ci"`, `"last_used_at":null`}, absent: []string{"{{key}}", `"key":`}},
		{name: "the key signs its user in", method: "GET", path: mePath, host: a.host, cred: "Api-Key {{key}}",
			status: 200, want: []string{`"email":"ann@example.test"`}},
		{name: "the scheme is case-insensitive", method: "GET", path: mePath, host: a.host, cred: "api-key {{key}}", status: 200},
		{name: "its last use is recorded", method: "GET", path: apiKeysPath, host: a.host, cred: "Api-Key {{key}}",
			status: 200, want: []string{`"last_used_at":"`}, absent: []string{`"last_used_at":null`}},
		{name: "as a bearer token it is nothing", method: "GET", path: mePath, host: a.host, cred: "Bearer {{key}}", status: 401, want: unauthorized},
		{name: "a key with one character changed", before: damage, method: "GET", path: mePath, host: a.host, cred: "Api-Key {{damaged}}",
			status: 401, want: append(unauthorized, `"message":"Invalid API key."`), header: refused},
		{name: "not a key", method: "GET", path: mePath, host: a.host, cred: "Api-Key tk_nonsense", status: 401, want: unauthorized},
		{name: "on another tenant the key is nothing", method: "GET", path: mePath, host: b.host, cred: "Api-Key {{key}}",
			status: 401, want: append(unauthorized, `"message":"Invalid API key."`)},
		{name: "on the platform the key is nothing", method: "GET", path: mePath, host: platformHost, cred: "Api-Key {{key}}", status: 401, want: unauthorized},
		{name: "bob does not see ann's keys", method: "GET", path: apiKeysPath, host: a.host, cred: bearer(bob.Access),
			status: 200, want: []string{`"data":[]`}, absent: []string{"{{prefix}}"}},
		{name: "bob cannot revoke ann's key", method: "DELETE", path: apiKeysPath + "/{{keyID}}", host: a.host, cred: bearer(bob.Access),
			status: 404, want: notFound},
		{name: "the key survived bob", method: "GET", path: mePath, host: a.host, cred: "Api-Key {{key}}", status: 200},
		{name: "create without a name", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(ann.Access), body: `{"name":" "}`,
			status: 400, want: append(invalid, `"name":"Use 1 to 100 characters."`)},
		{name: "create expiring in the past", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(ann.Access),
			body: `{"name":"old","expires_at":"` + anHourAgo + `"}`, status: 400, want: append(invalid, `"expires_at":"Give a time in the future."`)},
		{name: "create with a malformed expiry", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(ann.Access),
			body: `{"name":"old","expires_at":"tomorrow"}`, status: 400},
		{name: "create without credentials", method: "POST", path: apiKeysPath, host: a.host, body: `{"name":"ci"}`, status: 401, want: unauthorized},
		{name: "list without credentials", method: "GET", path: apiKeysPath, host: a.host, status: 401, want: unauthorized},
		{name: "revoke", method: "DELETE", path: apiKeysPath + "/{{keyID}}", host: a.host, cred: bearer(ann.Access),
			status: 200, want: []string{`"message":"API key revoked."`}},
		{name: "a revoked key fails", method: "GET", path: mePath, host: a.host, cred: "Api-Key {{key}}",
			status: 401, want: append(unauthorized, `"message":"API key revoked."`)},
		{name: "the list shows it revoked", method: "GET", path: apiKeysPath, host: a.host, cred: bearer(ann.Access),
			status: 200, want: []string{`"prefix":"{{prefix}}"`, `"revoked_at":"`}},
		{name: "revoke an unknown key", method: "DELETE", path: apiKeysPath + "/999999", host: a.host, cred: bearer(ann.Access), status: 404, want: notFound},
		{name: "revoke a non-numeric id", method: "DELETE", path: apiKeysPath + "/abc", host: a.host, cred: bearer(ann.Access), status: 404, want: notFound},
		{name: "create one expiring in an hour", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(ann.Access),
			body: `{"name":"short","expires_at":"` + inAnHour + `"}`, status: 201, want: []string{`"expires_at":"`},
			save: map[string]string{"short": "data.key"}},
		{name: "it works within the hour", before: s.advance(59 * time.Minute), method: "GET", path: mePath, host: a.host, cred: "Api-Key {{short}}", status: 200},
		{name: "it fails after the hour", before: s.advance(2 * time.Minute), method: "GET", path: mePath, host: a.host, cred: "Api-Key {{short}}",
			status: 401, want: append(unauthorized, `"message":"API key expired."`)},
	})
}

// TestAPIKeyOfDeactivatedUser: a key is only as good as its user.
func TestAPIKeyOfDeactivatedUser(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a := s.newTenant(t)
	u := s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	ann := s.login(t, a.host, "ann@example.test", "password of ann")
	s.scenario(nil).run(t, []row{
		{name: "create", method: "POST", path: apiKeysPath, host: a.host, cred: bearer(ann.Access), body: `{"name":"ci"}`,
			status: 201, save: map[string]string{"key": "data.key"}},
		{name: "it works", method: "GET", path: mePath, host: a.host, cred: "Api-Key {{key}}", status: 200},
		{name: "deactivated, it fails", before: func(map[string]string) {
			if _, err := s.users.UpdateUser(a.operator(), u.ID, taruvi.UserUpdate{IsActive: new(false)}); err != nil {
				t.Fatal(err)
			}
		}, method: "GET", path: mePath, host: a.host, cred: "Api-Key {{key}}", status: 401, want: unauthorized},
	})
}
