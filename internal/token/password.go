package token

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"taruvi"
)

// Password hashing parameters for new hashes: argon2id with 7 MiB of
// memory, 5 passes and one lane, one of the settings OWASP's password
// storage guidance lists as equal in strength to its 19 MiB, 2-pass
// baseline. The CPU cost is the same (23 to 30 ms a hash on the 2-core
// reference machine, AMD EPYC, against 30 to 34 ms for m=19456,t=2 in the
// same run), while a hash in flight holds 7 MiB instead of 19: with one
// hash a core, a storm of sign-ins then grows the process by tens of
// megabytes, not a hundred. BenchmarkHashPassword measures it again.
// Stored hashes carry their parameters, so changing these affects new
// hashes only.
const (
	argonMemory  = 7168 // KiB
	argonTime    = 5
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters VerifyPassword accepts from a stored hash, so a
// corrupted or planted hash cannot make one login cost minutes or gigabytes.
const (
	maxArgonMemory  = 1 << 20 // KiB, 1 GiB
	maxArgonTime    = 10
	maxArgonThreads = 16
)

// Password length bounds, in characters.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// commonPasswords holds the 10,000 most common passwords, most common
// first, one a line: the head of the 30,000 passwords ranked by frequency
// (from leaked password sets) that zxcvbn ships as its "passwords" list
// (Dropbox, Inc., MIT licence; taken from Debian's python3-zxcvbn 4.4.28,
// zxcvbn/frequency_lists.py).
//
//go:embed common-passwords.txt
var commonPasswords string

// isCommonPassword reports whether pw, in any case, is one of
// commonPasswords; the list is lower case.
func isCommonPassword(pw string) bool {
	pw = strings.ToLower(pw)
	for line := range strings.Lines(commonPasswords) {
		if strings.TrimSuffix(line, "\n") == pw {
			return true
		}
	}
	return false
}

var b64 = base64.RawStdEncoding

// argonParams are the parameters of one hash.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
}

var defaultParams = argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}

// noPassword is what VerifyPassword checks a password against for a user
// without one (or no user at all): a hash with the current parameters that
// no password matches (its 32 bytes would have to be argon2id's output for
// a zero salt and be all zero), so the answer costs what a wrong password
// for a real user costs.
var noPassword = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
	b64.EncodeToString(make([]byte, argonSaltLen)), b64.EncodeToString(make([]byte, argonKeyLen)))

func (p argonParams) key(pw string, salt []byte, keyLen uint32) []byte {
	return argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, keyLen)
}

// HashPassword returns the argon2id hash of pw with a random salt, in the
// PHC string format:
//
//	$argon2id$v=19$m=7168,t=5,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	p := defaultParams
	hash := p.key(pw, salt, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(hash)), nil
}

// VerifyPassword reports whether pw matches encoded, a hash HashPassword
// made (possibly with other parameters). An empty encoded (a user without
// a password, or no user) matches nothing but costs the same work as a
// wrong password, so the answer does not tell which it was. It returns an
// error, and false, when encoded is malformed or its parameters are out of
// bounds (memory over 1 GiB, more than 10 passes, more than 16 lanes). The
// comparison takes constant time.
func VerifyPassword(encoded, pw string) (bool, error) {
	if encoded == "" {
		encoded = noPassword
	}
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := p.key(pw, salt, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded, a hash VerifyPassword accepted, was
// made with other parameters than new hashes get, so that the password
// should be hashed again while it is at hand (at a successful sign-in).
func NeedsRehash(encoded string) bool {
	p, salt, key, err := parseHash(encoded)
	return err == nil && (p != defaultParams || len(salt) != argonSaltLen || len(key) != argonKeyLen)
}

// errBadHash is the error of a stored hash that cannot be read; it is an
// internal error (the data is corrupt), never shown to the person signing in.
var errBadHash = errors.New("malformed password hash")

// parseHash reads a PHC argon2id string and checks its parameters.
func parseHash(encoded string) (argonParams, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonParams{}, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", errBadHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return argonParams{}, nil, nil, fmt.Errorf("%w: unsupported version %q", errBadHash, parts[2])
	}
	p, err := parseParams(parts[3])
	if err != nil {
		return argonParams{}, nil, nil, err
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return argonParams{}, nil, nil, fmt.Errorf("%w: bad salt", errBadHash)
	}
	hash, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(hash) < 16 || len(hash) > 64 {
		return argonParams{}, nil, nil, fmt.Errorf("%w: bad hash", errBadHash)
	}
	return p, salt, hash, nil
}

// parseParams reads "m=<KiB>,t=<passes>,p=<lanes>", in that order.
func parseParams(s string) (argonParams, error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return argonParams{}, fmt.Errorf("%w: bad parameters %q", errBadHash, s)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(fields[i], name)
		// ParseUint accepts no sign or spaces; a leading zero is refused so
		// each parameter has one spelling.
		v, err := strconv.ParseUint(digits, 10, 32)
		if !ok || err != nil || (len(digits) > 1 && digits[0] == '0') {
			return argonParams{}, fmt.Errorf("%w: bad parameters %q", errBadHash, s)
		}
		vals[i] = v
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case t < 1 || t > maxArgonTime:
		return argonParams{}, fmt.Errorf("%w: passes t=%d out of 1..%d", errBadHash, t, maxArgonTime)
	case p < 1 || p > maxArgonThreads:
		return argonParams{}, fmt.Errorf("%w: lanes p=%d out of 1..%d", errBadHash, p, maxArgonThreads)
	case m < 8*p || m > maxArgonMemory:
		return argonParams{}, fmt.Errorf("%w: memory m=%d out of %d..%d KiB", errBadHash, m, 8*p, maxArgonMemory)
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(p)}, nil
}

// ValidatePassword returns EINVALID, with a message for the password field
// naming the rule broken, unless pw is valid UTF-8 of MinPasswordLen to
// MaxPasswordLen characters, not only whitespace, none of the user's own
// words (an email, its local part, a username or a name, in any case) and
// not one of the 10,000 most common passwords.
func ValidatePassword(pw string, own ...string) error {
	var msg string
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		msg = "Password must be valid UTF-8 text."
	case n < MinPasswordLen:
		msg = fmt.Sprintf("Password must be at least %d characters long.", MinPasswordLen)
	case n > MaxPasswordLen:
		msg = fmt.Sprintf("Password must be at most %d characters long.", MaxPasswordLen)
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		msg = "Password must not be only spaces."
	case isOwnWord(pw, own):
		msg = "Password must not be your email address or your name."
	case isCommonPassword(pw):
		msg = "Password is one of the most common passwords; choose another."
	default:
		return nil
	}
	e := taruvi.Errorf(taruvi.EINVALID, "%s", msg)
	e.Fields = map[string]string{"password": msg}
	return e
}

// isOwnWord reports whether pw is one of own, or the local part of an
// email among them, ignoring case and surrounding spaces.
func isOwnWord(pw string, own []string) bool {
	pw = strings.TrimSpace(pw)
	for _, w := range own {
		w = strings.TrimSpace(w)
		local, _, _ := strings.Cut(w, "@")
		if w != "" && (strings.EqualFold(pw, w) || strings.EqualFold(pw, local)) {
			return true
		}
	}
	return false
}
