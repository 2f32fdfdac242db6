package api_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"taruvi"
)

var rateLimited = []string{`"code":"RATE_LIMITED"`, "Too many failed sign-ins"}

// TestLoginThrottleAccount: after the account's failure limit even the
// right password gets 429 with Retry-After; other accounts go on.
func TestLoginThrottleAccount(t *testing.T) {
	t.Parallel()
	s := newStack(t, limits{account: 3, address: 1000})
	a, b := s.newTenant(t), s.newTenant(t)
	for _, st := range []site{a, b} {
		s.createUser(t, st, taruvi.UserCreate{Email: "ann@example.test", Username: "ann", Password: "password of ann"})
	}
	s.createUser(t, a, taruvi.UserCreate{Email: "bob@example.test", Password: "password of bob"})
	wrong := credentials("ann@example.test", "wrong password")
	right := credentials("ann@example.test", "password of ann")
	s.scenario(nil).run(t, []row{
		{name: "failure 1", method: "POST", path: loginPath, host: a.host, body: wrong, status: 401, want: badLogin},
		{name: "failure 2", method: "POST", path: loginPath, host: a.host, body: wrong, status: 401, want: badLogin},
		{name: "failure 3", method: "POST", path: loginPath, host: a.host, body: wrong, status: 401, want: badLogin},
		{name: "the right password is throttled", method: "POST", path: loginPath, host: a.host, body: right,
			status: 429, want: rateLimited, absent: []string{`"access"`}, header: []string{"Retry-After"}},
		{name: "in another case too", method: "POST", path: loginPath, host: a.host, body: credentials("ANN@example.test", "password of ann"),
			status: 429, want: rateLimited},
		{name: "by username too", method: "POST", path: loginPath, host: a.host, body: `{"username":"ann","password":"password of ann"}`,
			status: 429, want: rateLimited},
		{name: "another account goes on", method: "POST", path: loginPath, host: a.host, body: credentials("bob@example.test", "password of bob"),
			status: 200, want: signedIn},
		{name: "the same email on another tenant goes on", method: "POST", path: loginPath, host: b.host, body: right, status: 200, want: signedIn},
	})
	res := s.do(t, "POST", a.host, loginPath, "", right)
	wait, err := strconv.Atoi(res.header.Get("Retry-After"))
	if res.status != 429 || err != nil || wait < 1 || wait > 15*60 {
		t.Errorf("status %d, Retry-After %q: want 429 and whole seconds within the 15 minute window", res.status, res.header.Get("Retry-After"))
	}
	if !strings.Contains(s.log.String(), `"event":"login_throttled"`) {
		t.Errorf("no login_throttled security event in the log:\n%s", s.log.String())
	}
}

// TestLoginThrottleAddress: one address failing on many accounts is
// throttled on every account.
func TestLoginThrottleAddress(t *testing.T) {
	t.Parallel()
	s := newStack(t, limits{account: 100, address: 3})
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	var rows []row
	for i := range 3 {
		rows = append(rows, row{name: "unknown account " + strconv.Itoa(i), method: "POST", path: loginPath, host: a.host,
			body: credentials("nobody"+strconv.Itoa(i)+"@example.test", "some password"), status: 401, want: badLogin})
	}
	rows = append(rows, row{name: "a real account from the same address", method: "POST", path: loginPath, host: a.host,
		body: credentials("ann@example.test", "password of ann"), status: 429, want: rateLimited, header: []string{"Retry-After"}})
	s.scenario(nil).run(t, rows)
}

// TestLoginTiming: an unknown user, a wrong password and an inactive user
// cost the same argon2 work, so their answers take the same time class.
// Not parallel: other tests' hashing would blur the measurement.
func TestLoginTiming(t *testing.T) {
	s := newStack(t, limits{account: 1000, address: 1000})
	a := s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	ina := s.createUser(t, a, taruvi.UserCreate{Email: "ina@example.test", Password: "password of ina"})
	if _, err := s.users.UpdateUser(a.operator(), ina.ID, taruvi.UserUpdate{IsActive: new(false)}); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{
		"unknown user":   credentials("nobody@example.test", "password of ann"),
		"wrong password": credentials("ann@example.test", "wrong password!"),
		"inactive user":  credentials("ina@example.test", "password of ina"),
	}
	kinds := []string{"unknown user", "wrong password", "inactive user"}
	took := map[string][]time.Duration{}
	for range 10 { // interleaved, so load on the machine hits all kinds alike
		for _, kind := range kinds {
			start := time.Now()
			res := s.do(t, "POST", a.host, loginPath, "", bodies[kind])
			took[kind] = append(took[kind], time.Since(start))
			if res.status != 401 {
				t.Fatalf("%s: status %d, want 401: %s", kind, res.status, res.body)
			}
		}
	}
	median := map[string]time.Duration{}
	for _, kind := range kinds {
		slices.Sort(took[kind])
		median[kind] = took[kind][len(took[kind])/2]
	}
	t.Logf("median answer: unknown user %v, wrong password %v, inactive user %v", median["unknown user"], median["wrong password"], median["inactive user"])
	base := median["wrong password"]
	for _, kind := range kinds {
		if m := median[kind]; m > 3*base || 3*m < base {
			t.Errorf("median %s %v vs wrong password %v: more than a factor of 3 apart", kind, m, base)
		}
	}
	// The hash is the work being equalized: a fast answer would mean it was skipped.
	if median["unknown user"] < 2*time.Millisecond {
		t.Errorf("an unknown user is answered in %v: no password hashing happened", median["unknown user"])
	}
}
