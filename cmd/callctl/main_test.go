package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

const callJSON = `{"id":"c1","node":"pbx1","tenant":"default","state":"up","direction":"outbound","to":"PJSIP/alice","created_at":"2026-01-02T03:04:05Z","tags":["t1"]}`

// fakeGateway answers like the gateway and records each request as
// "METHOD URI BODY AUTH".
type fakeGateway struct {
	mu  sync.Mutex
	got []string
	// live and ended, when set, are the calls GET /v1/calls lists
	// (without and with state=ended), as JSON arrays.
	live, ended string
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.got = append(g.got, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(b)+" "+r.Header.Get("Authorization")))
	g.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/calls/missing"):
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(404)
		_, _ = io.WriteString(w, `{"status":404,"code":"not_found","detail":"call missing not found","request_id":"rq1"}`)
	case p == "/ari-sim/inbound":
		if u, pw, ok := r.BasicAuth(); !ok || u != "callgw" || pw != "callgw" {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"message":"Authentication required"}`)
			return
		}
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"channel_id":"pbx1-1.1","from":"alice","to":"100","app":"callgw"}`)
	case p == "/oauth/token":
		_, _ = io.WriteString(w, `{"access_token":"T9","token_type":"Bearer","expires_in":3600,"scope":"calls:read"}`)
	case p == "/v1/events/ws":
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"id":"e9","type":"call.answered","time":"2026-01-02T03:04:05Z","node":"pbx1","call_id":"c1","data":{"state":"up"}}`))
		_, _, _ = c.Read(r.Context())
	case p == "/v1/events":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": connected\n\n"+
			`id: e1`+"\n"+`data: {"id":"e1","type":"call.created","time":"2026-01-02T03:04:05Z","node":"pbx1","tenant":"default","call_id":"4f7c1a2b-0000-4000-8000-000000000000","data":{"id":"4f7c1a2b-0000-4000-8000-000000000000","node":"pbx1","state":"down","direction":"outbound","to":"PJSIP/alice","created_at":"2026-01-02T03:04:05Z"}}`+"\n\n"+
			`id: e2`+"\n"+`data: {"id":"e2","type":"call.hangup","time":"2026-01-02T03:04:07.5Z","node":"pbx1","tenant":"default","call_id":"4f7c1a2b-0000-4000-8000-000000000000","data":{"cause":16,"cause_text":"Normal Clearing","reason":"api"}}`+"\n\n")
	case p == "/v1/calls" && r.Method == "GET" && g.live != "":
		list := g.live
		if r.URL.Query().Get("state") == "ended" {
			list = g.ended
		}
		_, _ = io.WriteString(w, `{"calls":`+list+`,"missing_nodes":[]}`)
	case p == "/v1/calls" && r.Method == "GET":
		_, _ = io.WriteString(w, `{"calls":[`+callJSON+`],"missing_nodes":["pbx2"]}`)
	case p == "/v1/calls" && strings.Contains(string(b), "busy"):
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"id":"c2","node":"pbx1","state":"ended","direction":"outbound","to":"Local/busy@callgw-test","created_at":"2026-01-02T03:04:05Z","hangup":{"cause":17,"cause_text":"User busy","dial_status":"BUSY"},"end_reason":"remote"}`)
	case p == "/v1/calls" && strings.Contains(string(b), "slow"):
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(504)
		_, _ = io.WriteString(w, `{"status":504,"code":"timeout","detail":"no answer before the deadline","request_id":"rq2"}`)
	case p == "/v1/openapi.json":
		_, _ = io.WriteString(w, `{"openapi":"3.1.0","info":{"title":"callgw CallAPI","version":"1.0.0"}}`)
	case p == "/v1/calls/create":
		w.WriteHeader(201)
		_, _ = io.WriteString(w, callJSON)
	case p == "/v1/messages":
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"node":"pbx1","to":"PJSIP/alice"}`)
	case p == "/v1/calls" || p == "/v1/calls/c1" || strings.HasSuffix(p, "/snoop"):
		if r.Method == "DELETE" {
			w.WriteHeader(204)
			return
		}
		_, _ = io.WriteString(w, callJSON)
	case p == "/v1/nodes":
		_, _ = io.WriteString(w, `{"nodes":[{"node":"pbx1","state":"up","calls":2,"capacity":100,"healthy":true,"app":"callgw","interval_ms":1000,"started_at":"2026-01-02T03:04:05Z","time":"2026-01-02T03:04:05Z","last_seen":"2026-01-02T03:04:05Z"}]}`)
	case strings.HasSuffix(p, "/control"):
		_, _ = io.WriteString(w, `{"id":"p1","media":"sound:hello","state":"paused","target_id":"c1"}`)
	case strings.HasSuffix(p, "/pause") || strings.HasSuffix(p, "/mute"):
		_, _ = io.WriteString(w, `{"name":"r1","node":"pbx1","format":"wav","state":"paused","target_id":"c1"}`)
	case strings.HasSuffix(p, "/play"):
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"id":"p1","media":"sound:hello","state":"playing","target_id":"c1"}`)
	case p == "/v1/bridges" && r.Method == "POST":
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"id":"b1","node":"pbx1","type":"mixing","calls":["c1","c2"],"created_at":"2026-01-02T03:04:05Z"}`)
	case strings.Contains(p, "/variables/"):
		if r.Method == "GET" {
			_, _ = io.WriteString(w, `{"name":"X","value":"1"}`)
			return
		}
		w.WriteHeader(204)
	default:
		w.WriteHeader(204)
	}
}

func newApp(t *testing.T, srv *httptest.Server, out *bytes.Buffer, env map[string]string) *app {
	t.Helper()
	return &app{out: out, errOut: io.Discard, in: strings.NewReader("s3cret\n"), env: func(k string) string {
		if k == "CALLGW_URL" {
			return srv.URL
		}
		return env[k]
	}, opts: []client.Option{client.WithHTTPClient(srv.Client()), client.WithRetries(0, time.Millisecond, time.Millisecond)}}
}

func TestCommands(t *testing.T) {
	g := &fakeGateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	cfg := t.TempDir()
	env := map[string]string{"CALLGW_TOKEN": "tok", "XDG_CONFIG_HOME": cfg}
	for _, tc := range []struct {
		args    []string
		want    string // the last request, with a generated Idempotency-Key not shown
		out     []string
		wantErr string
	}{
		{[]string{"originate", "PJSIP/alice", "--wait", "answered", "--tag", "t1", "--var", "A=b", "--timeout", "3s"},
			`POST /v1/calls?timeout=3s {"to":"PJSIP/alice","variables":{"A":"b"},"tags":["t1"],"wait":"answered"} Bearer tok`, []string{"id         c1", "state      up"}, ""},
		{[]string{"list", "--node", "pbx1"}, "GET /v1/calls?node=pbx1  Bearer tok",
			[]string{"ID  NODE  STATE  DIR       FROM  TO           AGE", "c1  pbx1  up     outbound  -     PJSIP/alice", "1 call(s); nodes that did not answer (their calls are missing): pbx2"}, ""},
		{[]string{"--json", "--token", "t2", "list"}, "GET /v1/calls  Bearer t2", []string{`"missing_nodes": [`, `"id": "c1"`}, ""},
		{[]string{"list", "--state", "ended", "--limit", "5"}, "GET /v1/calls?limit=5&state=ended  Bearer tok", []string{"ID  NODE  FROM  TO           ENDED  OUTCOME  DURATION  TALK  TAGS"}, ""},
		{[]string{"list", "--json"}, "GET /v1/calls  Bearer tok", []string{`"missing_nodes": [`, `"id": "c1"`}, ""},
		{[]string{"hangup", "c1", "--reason", "busy"}, "DELETE /v1/calls/c1?reason=busy  Bearer tok", []string{"hung up c1"}, ""},
		{[]string{"get", "missing"}, "GET /v1/calls/missing  Bearer tok", nil, "404 not_found: call missing not found (request rq1)"},
		{[]string{"play", "c1", "sound:hello", "tone:ring"}, `POST /v1/calls/c1/play {"media":["sound:hello","tone:ring"]} Bearer tok`, []string{"playback p1: sound:hello on c1 (playing)"}, ""},
		{[]string{"dtmf", "c1", "12#"}, `POST /v1/calls/c1/dtmf {"digits":"12#"} Bearer tok`, []string{"sent 12# to c1"}, ""},
		{[]string{"hold", "c1"}, "POST /v1/calls/c1/hold  Bearer tok", []string{"hold: c1"}, ""},
		{[]string{"mute", "c1", "--direction", "in"}, `POST /v1/calls/c1/mute {"direction":"in"} Bearer tok`, []string{"muted c1 (in)"}, ""},
		{[]string{"ring", "c1", "--stop"}, "POST /v1/calls/c1/ring/stop  Bearer tok", []string{"ringing stopped"}, ""},
		{[]string{"moh", "c1", "--stop"}, "DELETE /v1/calls/c1/moh  Bearer tok", []string{"stopped"}, ""},
		{[]string{"var", "c1", "X"}, "GET /v1/calls/c1/variables/X  Bearer tok", []string{"X=1"}, ""},
		{[]string{"var", "c1", "X", "2"}, `PUT /v1/calls/c1/variables/X {"value":"2"} Bearer tok`, []string{"c1: X=2"}, ""},
		{[]string{"bridge", "create", "c1", "c2"}, `POST /v1/bridges {"calls":["c1","c2"]} Bearer tok`, []string{"b1  pbx1  mixing", "c1,c2"}, ""},
		{[]string{"bridge", "add", "b1", "c3"}, `POST /v1/bridges/b1/calls {"call_id":"c3"} Bearer tok`, []string{"added c3 to bridge b1"}, ""},
		{[]string{"transfer", "c1", "c2", "c3"}, `POST /v1/transfers {"transferee":"c1","target":"c2","transferer":"c3"} Bearer tok`, nil, ""},
		{[]string{"recording", "stop", "r1"}, "POST /v1/recordings/live/r1/stop  Bearer tok", []string{"stopped recording r1"}, ""},
		{[]string{"playback", "pause", "p1"}, `POST /v1/playbacks/p1/control {"operation":"pause"} Bearer tok`, []string{"playback p1: sound:hello on c1 (paused)"}, ""},
		{[]string{"playback", "rewind", "p1"}, "", nil, `playback takes get, stop, pause, unpause, restart, forward, reverse, not "rewind"`},
		{[]string{"recording", "pause", "r1"}, "POST /v1/recordings/live/r1/pause  Bearer tok", []string{"r1    pbx1  wav     paused"}, ""},
		{[]string{"recording", "unmute", "r1"}, "DELETE /v1/recordings/live/r1/mute  Bearer tok", []string{"r1    pbx1  wav"}, ""},
		{[]string{"create", "PJSIP/alice", "--formats", "ulaw", "--var", "A=b", "--tag", "t1"},
			`POST /v1/calls/create {"to":"PJSIP/alice","formats":"ulaw","variables":{"A":"b"},"tags":["t1"]} Bearer tok`, []string{"id         c1"}, ""},
		{[]string{"create", "PJSIP/alice", "--var", "Ab"}, "", nil, `--var "Ab": want K=V`},
		{[]string{"dial", "c1", "--ring-timeout", "30", "--caller", "c0"}, `POST /v1/calls/c1/dial {"timeout":30,"caller":"c0"} Bearer tok`, []string{"dialling c1"}, ""},
		{[]string{"message", "PJSIP/alice", "your order shipped", "--from", "sip:shop@pbx", "--header", "X-Order=42"},
			`POST /v1/messages {"to":"PJSIP/alice","from":"sip:shop@pbx","body":"your order shipped","variables":{"X-Order":"42"}} Bearer tok`, []string{"sent to PJSIP/alice from node pbx1"}, ""},
		{[]string{"nodes"}, "GET /v1/nodes  Bearer tok", []string{"NODE  STATE  CALLS  HEALTHY", "pbx1  up     2/100  yes"}, ""},
		{[]string{"events", "--call", "c1", "--type", "call.hangup,call.created", "--color", "never", "--max", "2"}, "GET /v1/events?call_id=c1&type=call.hangup%2Ccall.created  Bearer tok",
			[]string{"pbx1   4f7c1a2b call.created            dir=outbound to=PJSIP/alice\n", "pbx1   4f7c1a2b call.hangup             cause=16(Normal Clearing) by=api\n"}, ""},
		{[]string{"events", "--ws", "--max", "1", "--color", "never"}, "GET /v1/events/ws  Bearer tok", []string{"pbx1   c1       call.answered           state=up\n"}, ""},
		{[]string{"timeline", "c1", "--color", "never"}, "", []string{"call c1 on pbx1: - → PJSIP/alice, up since", "   +0.000s pbx1   4f7c1a2b call.created", "   +2.500s pbx1   4f7c1a2b call.hangup"}, ""},
		{[]string{"inbound", "alice", "100", "--sim", "SIM", "--hangup-after", "5s"}, `POST /ari-sim/inbound {"from":"alice","hangup_after":"5s","to":"100"} Basic Y2FsbGd3OmNhbGxndw==`, []string{"inbound call pbx1-1.1 from alice to 100 entered Stasis(callgw)"}, ""},
		{[]string{"inbound", "alice", "--sim", "SIM", "--sim-password", "wrong"}, "", nil, "401 Unauthorized: Authentication required"},
		{[]string{"completion", "bash"}, "", []string{"complete -o default -F _callctl callctl", "originate", "timeline"}, ""},
		{[]string{"originate"}, "", nil, "originate takes <endpoint>"},
		{[]string{"frobnicate"}, "", nil, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			g.mu.Lock()
			g.got = nil
			g.mu.Unlock()
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "SIM" {
					args[i] = srv.URL
				}
			}
			err := newApp(t, srv, &out, env).run(ctx, args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(describe(err), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(describe(err))
			}
			g.mu.Lock()
			got := g.got
			g.mu.Unlock()
			if tc.want != "" && (len(got) == 0 || got[len(got)-1] != tc.want) {
				t.Fatalf("requests = %q, want %q", got, tc.want)
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("printed\n%s\nwant %q", out.String(), w)
				}
			}
		})
	}
}

// TestLogin: login saves the token for the URL, later commands send it,
// and --token still wins.
func TestLogin(t *testing.T) {
	g := &fakeGateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	env := map[string]string{"XDG_CONFIG_HOME": t.TempDir()}
	var out bytes.Buffer
	if err := newApp(t, srv, &out, env).run(context.Background(), []string{"login", "--client-id", "acme-app"}); err != nil {
		t.Fatal(describe(err))
	}
	if !strings.Contains(g.got[0], "client_id=acme-app") || !strings.Contains(g.got[0], "client_secret=s3cret") {
		t.Errorf("token request %q", g.got[0])
	}
	fi, err := os.Stat(filepath.Join(env["XDG_CONFIG_HOME"], "callctl", "token.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved token: %v %v", fi, err)
	}
	g.got = nil
	if err := newApp(t, srv, &out, env).run(context.Background(), []string{"nodes"}); err != nil {
		t.Fatal(err)
	}
	if err := newApp(t, srv, &out, env).run(context.Background(), []string{"nodes", "--token", "other"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(g.got[0], "Bearer T9") || !strings.HasSuffix(g.got[1], "Bearer other") {
		t.Errorf("auth sent: %q", g.got)
	}
}

// TestEveryOperationHasACommand: every method of the SDK client that
// performs an API operation is called by some command.
func TestEveryOperationHasACommand(t *testing.T) {
	var src bytes.Buffer
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	ct := reflect.TypeOf(&client.Client{})
	for i := range ct.NumMethod() {
		m := ct.Method(i).Name
		switch m {
		case "BaseURL", "OpenAPI", "Ready", "AllCalls", "Call", "Dial":
			continue // not operations a person runs from callctl (AllCalls: list pages through --cursor; Call, Dial: handles over the other operations)
		}
		if !strings.Contains(src.String(), "a.client."+m) {
			t.Errorf("no callctl command calls callapi.Client.%s", m)
		}
	}
}

func TestEventLineColour(t *testing.T) {
	e := &callapi.Event{ID: "e", Type: "call.answered", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Node: "pbx1", CallID: "c1", Data: []byte(`{"state":"up"}`)}
	plain, col := eventLine(e, false, time.Time{}), eventLine(e, true, time.Time{})
	if strings.Contains(plain, "\x1b[") || !strings.Contains(col, cGreen+"call.answered") {
		t.Errorf("plain %q, colour %q", plain, col)
	}
	if len(plain) > 120 {
		t.Errorf("line of %d characters: %q", len(plain), plain)
	}
}

// TestBashCompletion: the bash script completes command names, a
// command's flags and, where a command takes a call id, the live calls'
// ids (asking the built callctl, which asks the gateway, for them).
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "callctl"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := `source <(callctl completion bash)
COMP_WORDS=(callctl ori); COMP_CWORD=1; _callctl; echo "${COMPREPLY[@]}"
COMP_WORDS=(callctl hangup --re); COMP_CWORD=2; _callctl; echo "${COMPREPLY[@]}"
COMP_WORDS=(callctl hangup ""); COMP_CWORD=2; _callctl; echo "${COMPREPLY[@]}"
COMP_WORDS=(callctl list ""); COMP_CWORD=2; _callctl; echo "${COMPREPLY[@]}"`
	srv := httptest.NewServer(&fakeGateway{})
	defer srv.Close()
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "CALLGW_URL="+srv.URL, "CALLGW_TOKEN=tok")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	if got := string(out); got != "originate\n--reason\nc1\n\n" {
		t.Errorf("completions %q, want originate, --reason, the call c1, nothing", got)
	}
}
