package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
)

// MinSigningKeyBits is the least estimated entropy of a token signing key:
// its length times the entropy per character of its own character counts.
// 48 random bytes in base64 (head -c 48 /dev/urandom | base64) give about
// 350; 64 random hex digits about 250; a repeated word or a sentence falls
// short, and so do 32 hex digits (about 120).
const MinSigningKeyBits = 128

// ExampleSigningKeys are signing keys that were published as examples:
// whoever read them can mint tokens for any client id of a gateway that
// uses one, so the gateway refuses them. The placeholders the example
// files carry today are here too (a test derives them from deploy/ and
// docs/ and fails when one is missing or would be accepted).
var ExampleSigningKeys = []string{
	"change-me-change-me-change-me-change-me", // deploy/systemd/gateway.env.example until 2025
	"SIGNING_KEY",
}

// CheckSigningKey refuses a token signing key that is too short, a
// published example, or too regular to be random.
func CheckSigningKey(key string) error {
	const opt = "config: auth-signing-key (CALLGW_AUTH_SIGNING_KEY)"
	for _, k := range ExampleSigningKeys {
		if key == k {
			return fmt.Errorf("%s is the example value from the documentation: anyone can sign tokens with it; "+
				"generate one with: head -c 48 /dev/urandom | base64", opt)
		}
	}
	if len(key) < 32 {
		return fmt.Errorf("%s must be at least 32 bytes when auth is on; generate one with: head -c 48 /dev/urandom | base64", opt)
	}
	if bits := keyBits(key); bits < MinSigningKeyBits {
		return fmt.Errorf("%s looks guessable (about %d bits of entropy, at least %d needed): "+
			"generate a random one with: head -c 48 /dev/urandom | base64", opt, int(bits), MinSigningKeyBits)
	}
	return nil
}

// keyBits estimates the entropy of key from its own byte frequencies.
func keyBits(key string) float64 {
	var counts [256]int
	for i := 0; i < len(key); i++ {
		counts[key[i]]++
	}
	n := float64(len(key))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h * n
}

// Listen addresses of the REST CallAPI when http-addr is not set: every
// interface with token auth on, loopback only with it off.
const (
	DefaultHTTPAddr     = ":8080"
	DefaultHTTPAddrOpen = "127.0.0.1:8080"
)

// IsLoopback reports whether the listen address addr (host:port) accepts
// connections from this host only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkExposure picks the listen address and refuses to serve an API
// without authentication beyond this host unless the operator said so
// (allow-unauthenticated).
func (g *Gateway) checkExposure() error {
	if g.AuthClientsFile != "" {
		if g.HTTPAddr == "" {
			g.HTTPAddr = DefaultHTTPAddr
		}
		return nil
	}
	if g.HTTPAddr == "" {
		g.HTTPAddr = DefaultHTTPAddrOpen
		return nil
	}
	if IsLoopback(g.HTTPAddr) || g.AllowUnauthenticated {
		return nil
	}
	return errors.New("config: http-addr " + fmt.Sprintf("%q", g.HTTPAddr) + " is reachable from other hosts " +
		"but token auth is off (anyone could place calls): set CALLGW_AUTH_CLIENTS_FILE and CALLGW_AUTH_SIGNING_KEY " +
		"(docs/security.md), listen on a loopback address such as " + DefaultHTTPAddrOpen +
		", or set CALLGW_ALLOW_UNAUTHENTICATED=true to serve every caller as tenant default with every scope")
}
