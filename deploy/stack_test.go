package deploy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/internal/testenv"
)

// gatewayAPI is a running gateway with one OAuth2 client per tenant.
type gatewayAPI struct {
	base    string
	secrets map[string]string // tenant -> secret of client "<tenant>-app"
}

// startProcess runs callgw with args and env until the test ends.
func startProcess(t *testing.T, bin, name string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s:\n%s", name, out.String())
		}
	})
}

// startGatewayAndWorker runs a simulated PBX, a worker pbx1 and a gateway
// on the given broker URLs, with auth on and clients for acme and beta.
func startGatewayAndWorker(t *testing.T, gwURL, wkURL string) *gatewayAPI {
	t.Helper()
	bin := callgwBinary(t)
	ari, apiAddr, ariPW := testenv.FreeAddr(t), testenv.FreeAddr(t), uuid.NewString()
	startProcess(t, bin, "simulator", nil, "simulator", "--listen", ari, "--ari-password", ariPW, "--log-level", "warn")
	startProcess(t, bin, "worker", []string{"CALLGW_AMQP_URL=" + wkURL, "CALLGW_NODE_ID=pbx1", "CALLGW_ARI_URL=http://" + ari + "/ari",
		"CALLGW_ARI_USER=callgw", "CALLGW_ARI_PASSWORD=" + ariPW, "CALLGW_STATE_DIR=" + t.TempDir()}, "worker")
	api := &gatewayAPI{base: "http://" + apiAddr, secrets: map[string]string{}}
	var clients []map[string]any
	for _, tn := range []string{"acme", "beta"} {
		secret := uuid.NewString()
		hs := exec.Command(bin, "hash-secret")
		hs.Stdin = strings.NewReader(secret)
		hash, err := hs.Output()
		if err != nil {
			t.Fatalf("hash-secret: %v", err)
		}
		api.secrets[tn] = secret
		clients = append(clients, map[string]any{"id": tn + "-app", "secret_hash": strings.TrimSpace(string(hash)), "tenant": tn,
			"scopes": []string{"calls:read", "calls:write"}})
	}
	b, _ := json.Marshal(clients)
	file := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, bin, "gateway", []string{"CALLGW_AMQP_URL=" + gwURL, "CALLGW_HTTP_ADDR=" + apiAddr,
		"CALLGW_AUTH_CLIENTS_FILE=" + file, "CALLGW_AUTH_SIGNING_KEY=" + uuid.NewString() + uuid.NewString()}, "gateway")
	testenv.WaitFor(t, "the gateway ready", 30*time.Second, func() bool {
		r, err := http.Get(api.base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	return api
}

// callAndHangUp originates an answered call as tenant's client and hangs
// it up.
func (a *gatewayAPI) callAndHangUp(t *testing.T, tenant string) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth(tenant+"-app", a.secrets[tenant])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	a.do(t, req, 200, &tok)
	auth := "Bearer " + tok.AccessToken
	req, _ = http.NewRequest("POST", a.base+"/v1/calls", strings.NewReader(`{"to":"Local/answer@callgw-test","wait":"answered"}`))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	var call struct {
		ID string `json:"id"`
	}
	a.do(t, req, 201, &call)
	req, _ = http.NewRequest("DELETE", a.base+"/v1/calls/"+call.ID, nil)
	req.Header.Set("Authorization", auth)
	a.do(t, req, 204, nil)
}

func (a *gatewayAPI) do(t *testing.T, req *http.Request, want int, into any) {
	t.Helper()
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	if r.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL.Path, r.StatusCode, body.String(), want)
	}
	if into != nil {
		if err := json.Unmarshal(body.Bytes(), into); err != nil {
			t.Fatal(err)
		}
	}
}
