package token_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sys/unix"

	"taruvi"
	"taruvi/internal/token"
)

var phcShape = regexp.MustCompile(`^\$argon2id\$v=19\$m=7168,t=5,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func hashPassword(t testing.TB, pw string) string {
	t.Helper()
	h, err := token.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	a, b := hashPassword(t, "correct horse"), hashPassword(t, "correct horse")
	if !phcShape.MatchString(a) {
		t.Errorf("hash %q is not in the expected PHC form", a)
	}
	if a == b {
		t.Error("two hashes of one password are equal; the salt is not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery staple"
	hash := hashPassword(t, pw)
	unicodeHash := hashPassword(t, "пароль-密码-🔑")
	parts := strings.Split(hash, "$")
	replace := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	// flipChar changes the first character of part i to another valid one.
	flipChar := func(i int) string {
		c := "A"
		if parts[i][0] == 'A' {
			c = "B"
		}
		return replace(i, c+parts[i][1:])
	}
	tests := []struct {
		name, hash, pw string
		want           bool
	}{
		{"right password", hash, pw, true},
		{"second hash of it", hashPassword(t, pw), pw, true},
		{"wrong password", hash, pw + "!", false},
		{"case differs", hash, strings.ToUpper(pw), false},
		{"empty password", hash, "", false},
		{"unicode", unicodeHash, "пароль-密码-🔑", true},
		{"unicode, other normalization", unicodeHash, "пароль-密码-🔐", false},
		{"tampered hash", flipChar(5), pw, false},
		{"tampered salt", flipChar(4), pw, false},
		{"other memory in the string", replace(3, "m=7169,t=5,p=1"), pw, false},
		{"other passes in the string", replace(3, "m=7168,t=6,p=1"), pw, false},
		{"other parameters", encodeArgon2id(pw, []byte("0123456789abcdef"), 8192, 1, 2, 32), pw, true},
		{"other parameters, wrong password", encodeArgon2id(pw, []byte("0123456789abcdef"), 8192, 1, 2, 32), "x", false},
		{"longer hash and salt", encodeArgon2id(pw, []byte("0123456789abcdef0123456789abcdef"), 1024, 1, 1, 64), pw, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := token.VerifyPassword(tt.hash, tt.pw)
			if err != nil || ok != tt.want {
				t.Errorf("VerifyPassword = %t, %v; want %t, nil", ok, err, tt.want)
			}
		})
	}
}

// encodeArgon2id writes a PHC string with the given parameters, as another
// version of HashPassword (with other defaults) would have.
func encodeArgon2id(pw string, salt []byte, m, tm uint32, p uint8, keyLen uint32) string {
	key := argon2.IDKey([]byte(pw), salt, tm, m, p, keyLen)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p, b64(salt), b64(key))
}

func TestVerifyPasswordMalformed(t *testing.T) {
	t.Parallel()
	hash := hashPassword(t, "pw")
	parts := strings.Split(hash, "$")
	replace := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	for name, bad := range map[string]string{
		"plain text":              "pw",
		"bcrypt":                  "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":                 replace(1, "argon2i"),
		"version 16":              replace(2, "v=16"),
		"no version":              strings.Join(append(parts[:2:2], parts[3:]...), "$"),
		"extra field":             hash + "$x",
		"no leading $":            hash[1:],
		"parameters out of order": replace(3, "t=2,m=19456,p=1"),
		"parameter missing":       replace(3, "m=19456,t=2"),
		"parameter not a number":  replace(3, "m=lots,t=2,p=1"),
		"negative parameter":      replace(3, "m=-1,t=2,p=1"),
		"plus sign":               replace(3, "m=+19456,t=2,p=1"),
		"leading zero":            replace(3, "m=019456,t=2,p=1"),
		"space":                   replace(3, "m=19456, t=2,p=1"),
		"memory over 1 GiB":       replace(3, "m=1048577,t=2,p=1"),
		"memory overflows":        replace(3, "m=99999999999,t=2,p=1"),
		"memory below 8 per lane": replace(3, "m=15,t=1,p=2"),
		"11 passes":               replace(3, "m=19456,t=11,p=1"),
		"zero passes":             replace(3, "m=19456,t=0,p=1"),
		"zero lanes":              replace(3, "m=19456,t=2,p=0"),
		"17 lanes":                replace(3, "m=19456,t=2,p=17"),
		"salt not base64":         replace(4, "!!!!!!!!!!!!!!!!!!!!!!"),
		"salt padded":             replace(4, parts[4]+"=="),
		"salt too short":          replace(4, "AAAA"),
		"hash empty":              replace(5, ""),
		"hash too short":          replace(5, "AAAAAAAA"),
		"hash not base64":         replace(5, strings.Repeat("*", 43)),
	} {
		start := time.Now()
		ok, err := token.VerifyPassword(bad, "pw")
		if err == nil || ok {
			t.Errorf("%s: VerifyPassword(%q) = %t, %v; want false and an error", name, bad, ok, err)
		}
		// Refused before any hashing: absurd parameters cost nothing.
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s: refusal took %v", name, d)
		}
	}
}

// Verifying against no hash (an unknown user, or one without a password)
// must cost what a wrong password costs, or unknown users answer
// faster than known ones. CPU time of the process is compared, which other
// processes' load does not inflate; the test is not parallel so no other
// test of this package runs meanwhile.
func TestVerifyNoPasswordTiming(t *testing.T) {
	hash := hashPassword(t, "correct horse")
	verifyOnce := func() {
		if ok, err := token.VerifyPassword(hash, "wrong horse"); ok || err != nil {
			t.Fatalf("VerifyPassword = %t, %v", ok, err)
		}
	}
	equalizeOnce := func() {
		if ok, err := token.VerifyPassword("", "wrong horse"); ok || err != nil {
			t.Fatalf("VerifyPassword of no hash = %t, %v", ok, err)
		}
	}
	// Warm up (the first calls fault the heap in), then alternate so both
	// see the same conditions.
	verifyOnce()
	equalizeOnce()
	const n = 5
	var verify, equalize time.Duration
	for range n {
		verify += processCPU(t, verifyOnce)
		equalize += processCPU(t, equalizeOnce)
	}
	t.Logf("per call: verify %v, equalize %v", verify/n, equalize/n)
	if ratio := float64(equalize) / float64(verify); ratio < 0.5 || ratio > 2 {
		t.Errorf("verifying against no hash costs %.2f times a verify, want about 1", ratio)
	}
}

// processCPU returns the CPU time the process spends running fn.
func processCPU(t *testing.T, fn func()) time.Duration {
	t.Helper()
	used := func() time.Duration {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := used()
	fn()
	return used() - start
}

// TestValidatePassword: each rule refuses with a message naming it, for
// the password field.
func TestValidatePassword(t *testing.T) {
	t.Parallel()
	own := []string{"Ann.Lee@Example.test", "annlee", "Ann", "Leeuwenhoek", "Ann Leeuwenhoek"}
	const (
		short  = "at least 10 characters"
		long   = "at most 256 characters"
		utf    = "valid UTF-8"
		spaces = "only spaces"
		mine   = "your email address or your name"
		common = "most common passwords"
	)
	tests := []struct {
		name, pw string
		rule     string // a fragment of the message; empty: valid
	}{
		{"empty", "", short},
		{"9 characters", "abcdefghi", short},
		{"10 characters", "abcdefghij", ""},
		{"10 characters in 20 bytes", "пароль1234", ""},
		{"9 characters in 18 bytes", "ééééééééé", short},
		{"256 characters", strings.Repeat("a", 256), ""},
		{"256 characters in 512 bytes", strings.Repeat("é", 256), ""},
		{"257 characters", strings.Repeat("a", 257), long},
		{"only spaces", "          ", spaces},
		{"only whitespace of all kinds", "\t\n \u00a0\u2003\r    ", spaces},
		{"spaces around words", "  a b c d  ", ""},
		{"not UTF-8", strings.Repeat("\xff", 10), utf},
		{"the email", "ann.lee@example.test", mine},
		{"the full name", "ann leeuwenhoek", mine},
		{"a last name", "LEEUWENHOEK", mine},
		{"the full name with spaces around", "  Ann Leeuwenhoek ", mine},
		{"common: the most common of 10 characters", "1234567890", common},
		{"common in another case", "QwertyUiop", common},
		{"common: password123", "password123", common},
		{"common near the end of the list", "vbkfyf1234", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := token.ValidatePassword(tt.pw, own...)
			if tt.rule == "" {
				if err != nil {
					t.Errorf("ValidatePassword(%q) = %v, want nil", tt.pw, err)
				}
				return
			}
			var e *taruvi.Error
			if !errors.As(err, &e) || e.Code != taruvi.EINVALID || !strings.Contains(e.Message, tt.rule) || e.Fields["password"] != e.Message {
				t.Errorf("ValidatePassword(%q) = %#v, want EINVALID naming %q for the password field", tt.pw, err, tt.rule)
			}
		})
	}
	local := token.ValidatePassword("ann.lee-the-1st", "ann.lee-the-1st@example.test")
	if taruvi.ErrorCode(local) != taruvi.EINVALID {
		t.Errorf("the email's local part: %v, want EINVALID", local)
	}
}

// TestCommonPasswordsList: passwords of 10 characters or more from the
// top, the middle and the end of the embedded list are refused.
func TestCommonPasswordsList(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"qwertyuiop", "1qaz2wsx3edc", "3216732167"} {
		if err := token.ValidatePassword(pw); taruvi.ErrorCode(err) != taruvi.EINVALID || !strings.Contains(err.Error(), "common") {
			t.Errorf("%q: %v, want refused as common", pw, err)
		}
	}
}

// BenchmarkHashPassword measures one hash with the current parameters.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := token.HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
