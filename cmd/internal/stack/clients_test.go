package stack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/config"
	"github.com/callgw/callgw/restapi"
)

// TestClientsFileReload: the gateway re-reads its clients file on SIGHUP
// and when it changes; a removed client's token is refused from then on
// (and accepted again if the client comes back), and a broken file keeps
// the previous list. Issue 12, finding 6.
func TestClientsFileReload(t *testing.T) {
	hash, err := restapi.HashSecret("a-secret-of-enough-length")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "clients.json")
	write := func(v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	app := config.AuthClient{ID: "app", SecretHash: hash, Tenant: "acme", Scopes: []string{"calls:read", "nodes:read"}}
	other := config.AuthClient{ID: "other", SecretHash: hash, Tenant: "acme", Scopes: []string{"nodes:read"}}
	write([]config.AuthClient{app, other})
	cfg, err := config.LoadGateway(nil, func(k string) string {
		return map[string]string{"CALLGW_AUTH_CLIENTS_FILE": path, "CALLGW_AUTH_SIGNING_KEY": "q3Jb8wW0x1mZ7kP2vN9sT4yH6cL5aR8eU0iO3dF7gB1jK2nM4pQ6rS9tV0wX5zY7"}[k]
	}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGateway(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	g.openGate() // no Run: the API serves without waiting for nodes
	h := g.api.Handler()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"a-secret-of-enough-length"}}
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != 200 || err != nil {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	nodes := func() int {
		req := httptest.NewRequest("GET", "/v1/nodes", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if c := nodes(); c != http.StatusOK {
		t.Fatalf("before: %d", c)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- g.watchClients(ctx, hup, time.Hour) }()

	// A broken file is not taken.
	if err := os.WriteFile(path, []byte(`[{"id":"app",`), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt
	time.Sleep(50 * time.Millisecond)
	if c := nodes(); c != http.StatusOK {
		t.Fatalf("after a broken file: %d", c)
	}
	// The client removed, then SIGHUP.
	write([]config.AuthClient{other})
	hup <- os.Interrupt
	deadline := time.Now().Add(5 * time.Second)
	for nodes() != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("the removed client's token is still accepted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Without a signal: a change of the file is noticed by polling.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { done <- g.watchClients(ctx2, nil, 10*time.Millisecond) }()
	time.Sleep(30 * time.Millisecond) // the watcher took its first stamp
	write([]config.AuthClient{app, other, {ID: "third", SecretHash: hash, Tenant: "acme"}})
	deadline = time.Now().Add(5 * time.Second)
	for nodes() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the re-added client's token is still refused: the file change was not noticed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A removed or disabled client's streams end within a second of the
// clients file changing: the file is checked at least that often.
func TestClientsPollWithinASecond(t *testing.T) {
	if ClientsPoll <= 0 || ClientsPoll >= time.Second {
		t.Fatalf("the clients file is checked every %s", ClientsPoll)
	}
}
