package config

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/restapi"
	"github.com/callgw/callgw/worker/journal"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantNode string
		wantURLs []string
		wantHB   time.Duration
	}{
		{"defaults", nil, nil, "", []string{DefaultAMQPURL}, 2 * time.Second},
		{"env", nil, map[string]string{"CALLGW_NODE_ID": "pbx7", "CALLGW_AMQP_URL": "amqp://a/, amqp://b/", "CALLGW_HEARTBEAT_INTERVAL": "1s"}, "pbx7", []string{"amqp://a/", "amqp://b/"}, time.Second},
		{"flag wins", []string{"--node", "pbx9", "--amqp-url", "amqp://c/"}, map[string]string{"CALLGW_NODE_ID": "pbx7", "CALLGW_AMQP_URL": "amqp://a/"}, "pbx9", []string{"amqp://c/"}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CALLGW_ARI_URL": "http://x/ari"}
			for k, v := range tc.env {
				env[k] = v
			}
			w, err := LoadWorker(tc.args, envOf(env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNode != "" && w.NodeID != tc.wantNode {
				t.Errorf("node = %q, want %q", w.NodeID, tc.wantNode)
			}
			if strings.Join(w.AMQPURLs, ",") != strings.Join(tc.wantURLs, ",") {
				t.Errorf("urls = %v, want %v", w.AMQPURLs, tc.wantURLs)
			}
			if w.HeartbeatInterval != tc.wantHB {
				t.Errorf("heartbeat = %v, want %v", w.HeartbeatInterval, tc.wantHB)
			}
			if w.ARIApp != DefaultARIApp {
				t.Errorf("app = %q", w.ARIApp)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no ari url", nil, nil, "ari-url is required"},
		{"bad node", []string{"--ari-url", "http://x/ari", "--node", "pbx.1"}, nil, "node"},
		{"reserved node", []string{"--ari-url", "http://x/ari", "--node", "any"}, nil, "node"},
		{"bad url", []string{"--ari-url", "http://x/ari", "--amqp-url", "http://x"}, nil, "amqp://"},
		{"bad env duration", []string{"--ari-url", "http://x/ari"}, map[string]string{"CALLGW_HEARTBEAT_INTERVAL": "soon"}, "CALLGW_HEARTBEAT_INTERVAL"},
		{"bad level", []string{"--ari-url", "http://x/ari", "--log-level", "loud"}, nil, "log-level"},
		{"stray arg", []string{"--ari-url", "http://x/ari", "extra"}, nil, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadWorker(tc.args, envOf(tc.env), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestHelpListsEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := LoadWorker([]string{"--help"}, envOf(nil), &out)
	if err == nil {
		t.Fatal("--help: want flag.ErrHelp")
	}
	for _, want := range []string{"CALLGW_AMQP_URL", "CALLGW_NODE_ID", "CALLGW_ARI_URL", "CALLGW_ARI_USER", "CALLGW_ARI_PASSWORD", "CALLGW_ARI_APP", "CALLGW_LOG_LEVEL", DefaultAMQPURL} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDevDefaults(t *testing.T) {
	d, err := LoadDev(nil, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Worker.NodeID != "pbx1" || d.HTTPAddr != "127.0.0.1:8080" || d.Worker.ARIURL != "" || len(d.Worker.AMQPURLs) != 1 {
		t.Fatalf("dev defaults: %+v", d)
	}
}

// TestDefaultsAreTheComponents: with no flag and no variable, every setting
// is the default of the package that applies it (restapi's, the worker's
// heartbeat and concurrency), so that `callgw gateway -h` shows what a zero
// field would become and the two cannot drift.
func TestDefaultsAreTheComponents(t *testing.T) {
	g, err := LoadGateway(nil, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	r := restapi.DefaultConfig()
	if DefaultHTTPAddr != r.Addr || g.HTTPAddr != DefaultHTTPAddrOpen || g.DefaultTimeout != r.DefaultTimeout || g.MaxTimeout != r.MaxTimeout ||
		g.AuthTokenTTL != r.Auth.TokenTTL || g.AuthMaxTokenLifetime != r.Auth.MaxTokenLifetime ||
		g.AuthFailuresPerMinute != r.Auth.FailuresPerMinute || g.AuthFailureBurst != r.Auth.FailureBurst ||
		g.StreamsPerToken != r.Streams.PerToken || g.StreamsPerTenant != r.Streams.PerTenant {
		t.Errorf("gateway defaults %+v differ from restapi.DefaultConfig %+v", g, r)
	}
	if g.MaxPendingCreates != callapi.DefaultConcurrency {
		t.Errorf("gateway max-pending-creates %d, want the worker's concurrency %d", g.MaxPendingCreates, callapi.DefaultConcurrency)
	}
	for _, tc := range []struct {
		v    string
		want int
		ok   bool
	}{{"0", 0, true}, {"64", 64, true}, {"-1", 0, false}} {
		g, err := LoadGateway(nil, envOf(map[string]string{"CALLGW_MAX_PENDING_CREATES": tc.v}), &bytes.Buffer{})
		if (err == nil) != tc.ok || (tc.ok && g.MaxPendingCreates != tc.want) {
			t.Errorf("CALLGW_MAX_PENDING_CREATES=%s: %v, want %d (ok %v)", tc.v, err, tc.want, tc.ok)
		}
	}
	w, err := LoadWorker([]string{"-ari-url", "http://127.0.0.1:8088/ari"}, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if w.HeartbeatInterval != callapi.DefaultHeartbeatInterval || w.Concurrency != callapi.DefaultConcurrency ||
		w.IdempotencyWindow != journal.DefaultWindow {
		t.Errorf("worker defaults: heartbeat %v, concurrency %d, idempotency window %v", w.HeartbeatInterval, w.Concurrency, w.IdempotencyWindow)
	}
}

func TestAuthClientsFile(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/clients.json"
	if err := os.WriteFile(good, []byte(`[{"id":"app","secret_hash":"sha256$00$00","tenant":"acme","scopes":["calls:read"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte(`[{"id":"app","colour":"red"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	key := randomKey
	for _, tc := range []struct {
		name string
		args []string
		want string // "" = ok
	}{
		{"off by default", nil, ""},
		{"on", []string{"--auth-clients-file", good, "--auth-signing-key", key}, ""},
		{"short key", []string{"--auth-clients-file", good, "--auth-signing-key", "short"}, "at least 32 bytes"},
		{"unknown field", []string{"--auth-clients-file", bad, "--auth-signing-key", key}, "unknown field"},
		{"missing file", []string{"--auth-clients-file", dir + "/none", "--auth-signing-key", key}, "auth-clients-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := LoadGateway(tc.args, envOf(nil), &bytes.Buffer{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if (len(tc.args) > 0) != (len(g.AuthClients) == 1) {
					t.Fatalf("clients = %+v", g.AuthClients)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestInputRulesOptions(t *testing.T) {
	env := envOf(map[string]string{"CALLGW_ARI_URL": "http://x/ari", "CALLGW_MEDIA_HOSTS": "media.example.com, cdn.example.com:8443,", "CALLGW_VARIABLE_FUNCTIONS": "CALLERID"})
	w, err := LoadWorker(nil, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	r := w.Rules()
	if strings.Join(r.MediaHosts, "|") != "media.example.com|cdn.example.com:8443" || strings.Join(r.VariableFunctions, "|") != "CALLERID" {
		t.Errorf("rules %+v", r)
	}
	if d, err := LoadDev(nil, envOf(nil), &bytes.Buffer{}); err != nil || len(d.Gateway.MediaHosts) != 0 || len(d.Worker.VariableFunctions) != 0 {
		t.Errorf("defaults: %v %+v", err, d)
	}
	for _, bad := range []map[string]string{{"CALLGW_MEDIA_HOSTS": "http://x/"}, {"CALLGW_VARIABLE_FUNCTIONS": "SHELL(id)"}} {
		if _, err := LoadGateway(nil, envOf(bad), &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestLoadDelivery: `callgw webhooks` reads its CALLGW_WEBHOOK_*
// variables, refuses an unknown queue type, and dev allows http and
// loopback targets with webhooks served.
func TestLoadDelivery(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	d, err := LoadDelivery(nil, env(map[string]string{"CALLGW_WEBHOOK_QUEUE_TYPE": "classic", "CALLGW_WEBHOOK_RETRY_BASE": "2s",
		"CALLGW_WEBHOOK_ALLOW_PRIVATE": "true"}), io.Discard)
	if err != nil || d.Webhook.QueueType != "classic" || d.Webhook.RetryBase != 2*time.Second || !d.Webhook.AllowPrivate ||
		d.Webhook.AllowLoopback || d.Webhook.Timeout != 10*time.Second || d.Webhook.MaxAge != 24*time.Hour {
		t.Fatalf("%+v %v", d, err)
	}
	if _, err := LoadDelivery(nil, env(map[string]string{"CALLGW_WEBHOOK_QUEUE_TYPE": "stream"}), io.Discard); err == nil {
		t.Error("queue type stream accepted")
	}
	if _, err := LoadDelivery(nil, env(map[string]string{"CALLGW_WEBHOOK_RETRY_MAX": "1s"}), io.Discard); err == nil {
		t.Error("retry max below retry base accepted")
	}
	g, err := LoadGateway(nil, env(map[string]string{"CALLGW_WEBHOOKS": "true"}), io.Discard)
	if err != nil || !g.WebhooksOn || g.Webhook.AllowHTTP || g.Webhook.QueueType != "quorum" {
		t.Fatalf("gateway: %+v %v", g, err)
	}
	dev, err := LoadDev(nil, env(nil), io.Discard)
	if err != nil || !dev.Gateway.WebhooksOn || !dev.Delivery.AllowHTTP || !dev.Delivery.AllowLoopback || !dev.Gateway.Webhook.AllowLoopback {
		t.Fatalf("dev: %+v %v", dev, err)
	}
}
