package restapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argonParams are the cost parameters of an argon2id hash.
type argonParams struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// defaultArgon is OWASP's minimum recommendation for argon2id (19 MiB,
// two passes, one lane): about 20-40 ms a hash on a current core. The
// gateway bounds how many run at once (verifySlots) and how many failed
// attempts a client or an address may make (tokenLimiter).
var defaultArgon = argonParams{Time: 2, Memory: 19 * 1024, Threads: 1}

// maxArgon bounds the parameters a stored hash may ask for, so that a
// clients file cannot make one verification take the machine.
var maxArgon = argonParams{Time: 10, Memory: 256 * 1024, Threads: 8}

const argonKeyLen = 32

// HashSecret returns the storable form of a client secret: argon2id in the
// PHC string format, "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"
// (unpadded base64), with a random 16-byte salt. A stolen clients file then
// costs an attacker a slow, memory-hard computation per guess.
func HashSecret(secret string) (string, error) {
	return hashSecretWith(secret, defaultArgon)
}

func hashSecretWith(secret string, p argonParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("restapi: salt: %w", err)
	}
	sum := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// secretHash is a parsed stored hash: argon2id, or the legacy
// "sha256$<salt hex>$<digest hex>" of earlier releases (still verified, so
// that existing clients files keep working; `callgw hash-secret` prints
// the argon2id form to replace them).
type secretHash struct {
	legacy bool
	p      argonParams
	salt   []byte
	sum    []byte
}

var errHashFormat = errors.New(`secret hash must be "$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>" from callgw hash-secret (or a legacy "sha256$<salt hex>$<digest hex>")`)

func parseHash(h string) (secretHash, error) {
	if strings.HasPrefix(h, "sha256$") {
		parts := strings.Split(h, "$")
		if len(parts) != 3 {
			return secretHash{}, errHashFormat
		}
		salt, err := hex.DecodeString(parts[1])
		if err != nil || len(salt) == 0 {
			return secretHash{}, errors.New("secret hash: bad salt")
		}
		sum, err := hex.DecodeString(parts[2])
		if err != nil || len(sum) != sha256.Size {
			return secretHash{}, errors.New("secret hash: bad digest")
		}
		return secretHash{legacy: true, salt: salt, sum: sum}, nil
	}
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return secretHash{}, errHashFormat
	}
	var p argonParams
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return secretHash{}, fmt.Errorf("secret hash: bad parameter %q", kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return secretHash{}, fmt.Errorf("secret hash: bad parameter %q", kv)
			}
			p.Threads = uint8(n)
		default:
			return secretHash{}, fmt.Errorf("secret hash: unknown parameter %q", kv)
		}
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return secretHash{}, errors.New("secret hash: m, t and p are required")
	}
	if p.Memory > maxArgon.Memory || p.Time > maxArgon.Time || p.Threads > maxArgon.Threads || p.Memory < 8*uint32(p.Threads) {
		return secretHash{}, fmt.Errorf("secret hash: parameters m=%d,t=%d,p=%d out of range (at most m=%d,t=%d,p=%d)",
			p.Memory, p.Time, p.Threads, maxArgon.Memory, maxArgon.Time, maxArgon.Threads)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return secretHash{}, errors.New("secret hash: bad salt")
	}
	sum, err := b64.DecodeString(parts[5])
	if err != nil || len(sum) < 16 || len(sum) > 64 {
		return secretHash{}, errors.New("secret hash: bad hash")
	}
	return secretHash{p: p, salt: salt, sum: sum}, nil
}

func (h secretHash) check(secret string) bool {
	var got []byte
	if h.legacy {
		s := sha256.Sum256(append(append([]byte(nil), h.salt...), secret...))
		got = s[:]
	} else {
		got = argon2.IDKey([]byte(secret), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.sum)))
	}
	return subtle.ConstantTimeCompare(got, h.sum) == 1
}

// CheckSecret reports whether secret matches a stored hash (argon2id from
// HashSecret, or a legacy salted SHA-256 one).
func CheckSecret(hash, secret string) bool {
	h, err := parseHash(hash)
	if err != nil {
		return false
	}
	return h.check(secret)
}

// IsLegacyHash reports whether a stored hash is of the old, fast kind that
// should be replaced by the output of `callgw hash-secret`.
func IsLegacyHash(hash string) bool { return strings.HasPrefix(hash, "sha256$") }
