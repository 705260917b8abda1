package config

import (
	"bytes"
	"slices"
	"testing"
)

// TestOrigins: CALLGW_CORS_ORIGINS and CALLGW_WS_ORIGINS are
// comma-separated lists; the flags win over the environment.
func TestOrigins(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		cors, wss []string
	}{
		{"none", nil, nil, nil, nil},
		{"env", nil, map[string]string{"CALLGW_CORS_ORIGINS": "http://a.example:3000, https://b.example", "CALLGW_WS_ORIGINS": "*.c.example"},
			[]string{"http://a.example:3000", "https://b.example"}, []string{"*.c.example"}},
		{"flag wins", []string{"--cors-origins", "*"}, map[string]string{"CALLGW_CORS_ORIGINS": "http://a.example"}, []string{"*"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := LoadGateway(tc.args, envOf(tc.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.CORSOrigins, tc.cors) || !slices.Equal(g.WSOrigins, tc.wss) {
				t.Errorf("cors %q ws %q, want %q %q", g.CORSOrigins, g.WSOrigins, tc.cors, tc.wss)
			}
		})
	}
}
