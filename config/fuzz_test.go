package config

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseAuthClients: the clients-file decoder never panics, refuses
// what is not a non-empty JSON list of known fields, and what it accepts
// survives a round trip.
func FuzzParseAuthClients(f *testing.F) {
	for _, s := range []string{
		`[{"id":"acme-app","secret_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA","tenant":"acme","scopes":["calls:read","calls:write","events:read"]}]`,
		`[{"id":"app","secret_hash":"sha256$00$00","tenant":"acme","scopes":["nodes:read"],"disabled":true}]`,
		`[]`, `{}`, `null`, `[{"id":"a","colour":"red"}]`, `[{"id":"app",`, `[{"id":1}]`, `[{}] []`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		clients, err := ParseAuthClients(b)
		if err != nil {
			return
		}
		if len(clients) == 0 {
			t.Fatalf("%q: accepted an empty list", b)
		}
		again, err := json.Marshal(clients)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseAuthClients(again)
		if err != nil || !reflect.DeepEqual(normalize(back), normalize(clients)) {
			t.Fatalf("round trip of %q: %v\n%+v\n%+v", b, err, back, clients)
		}
	})
}

// normalize treats nil and empty scope lists alike.
func normalize(cs []AuthClient) []AuthClient {
	out := append([]AuthClient(nil), cs...)
	for i := range out {
		if len(out[i].Scopes) == 0 {
			out[i].Scopes = nil
		}
	}
	return out
}
