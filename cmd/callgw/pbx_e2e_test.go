package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

// The end-to-end tests run every node on an ARI simulator, unless
// CALLGW_TEST_ARI_URL names a real Asterisk (with CALLGW_TEST_ARI_USER and
// CALLGW_TEST_ARI_PASSWORD, the variables of the simulator's conformance
// suite): then node pbx1's worker drives that Asterisk and the other nodes
// stay simulated. The Asterisk needs the configuration of deploy/asterisk
// (dialplan, ARI user, systemname pbx1); the worker's Stasis app is callgw,
// the one [callgw-in] sends inbound calls to. The tests leave the Asterisk as
// they found it: what a test created there (channels, bridges, stored
// recordings) is removed when its stack stops. Run the suites against one
// Asterisk one package at a time.

// realNode is the node that runs on the real Asterisk.
const realNode = "pbx1"

// realARI returns the real Asterisk's ARI URL and credentials, or "" when
// the tests run on simulators.
func realARI() (u, user, pass string) {
	return strings.TrimRight(os.Getenv("CALLGW_TEST_ARI_URL"), "/"), os.Getenv("CALLGW_TEST_ARI_USER"), os.Getenv("CALLGW_TEST_ARI_PASSWORD")
}

// onRealPBX reports whether node runs on the real Asterisk in this run.
func onRealPBX(node string) bool {
	u, _, _ := realARI()
	return u != "" && node == realNode
}

// simOnly skips a test that needs the simulator's fault hooks on node when
// that node is the real Asterisk.
func simOnly(t *testing.T, node, why string) {
	t.Helper()
	if onRealPBX(node) {
		t.Skipf("simulator only (%s): %s runs on the real Asterisk", why, node)
	}
}

// pbx is what a test may do to a node's PBX beyond the CallAPI: the
// simulator's hooks, or their equivalent over a real Asterisk's ARI.
type pbx interface {
	// ChannelCount is the number of channels the test made exist.
	ChannelCount() int
	// InboundCall makes a call for exten arrive in context callgw-in, which
	// sends it to Stasis(callgw,exten), and returns its channel id.
	InboundCall(from, exten string) (string, error)
	// AddExtension gives context callgw-test an extension for one test. A
	// real Asterisk must have it in its dialplan already: the tests use only
	// extensions that deploy/asterisk/extensions.conf defines.
	AddExtension(exten string, ep arisim.Endpoint)
}

// simPBX is a simulated node.
type simPBX struct{ *arisim.Server }

func (p simPBX) InboundCall(from, exten string) (string, error) {
	return p.Server.InboundCall(from, exten)
}

// ariPBX is the real Asterisk, over raw ARI.
type ariPBX struct {
	t               *testing.T
	url, user, pass string
	hc              *http.Client
	baseChannels    map[string]bool // there before the test: not the test's
	baseBridges     map[string]bool
	baseRecordings  map[string]bool
}

var inboundSeq atomic.Int64

func newARIPBX(t *testing.T) *ariPBX {
	t.Helper()
	u, user, pass := realARI()
	p := &ariPBX{t: t, url: u, user: user, pass: pass, hc: &http.Client{Timeout: 10 * time.Second}}
	if st, b := p.do("GET", "/asterisk/info", nil); st != http.StatusOK {
		t.Fatalf("CALLGW_TEST_ARI_URL=%s: GET /asterisk/info: %d %s", u, st, b)
	}
	p.baseChannels, p.baseBridges, p.baseRecordings = p.ids("/channels", "id"), p.ids("/bridges", "id"), p.ids("/recordings/stored", "name")
	return p
}

func (p *ariPBX) do(method, path string, q url.Values) (int, []byte) {
	p.t.Helper()
	u := p.url + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	req.SetBasicAuth(p.user, p.pass)
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("ARI %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ids lists the values of key of the objects a GET of path returns.
func (p *ariPBX) ids(path, key string) map[string]bool {
	p.t.Helper()
	st, b := p.do("GET", path, nil)
	var l []map[string]any
	if st != http.StatusOK || json.Unmarshal(b, &l) != nil {
		p.t.Fatalf("ARI GET %s: %d %s", path, st, b)
	}
	out := map[string]bool{}
	for _, m := range l {
		out[fmt.Sprint(m[key])] = true
	}
	return out
}

// AddExtension does nothing: the extension is in the Asterisk's dialplan.
func (p *ariPBX) AddExtension(string, arisim.Endpoint) {}

func (p *ariPBX) ChannelCount() int {
	n := 0
	for id := range p.ids("/channels", "id") {
		if !p.baseChannels[id] {
			n++
		}
	}
	return n
}

// InboundCall originates Local/<exten>@callgw-in: its ;2 half runs
// [callgw-in] and enters Stasis(callgw,exten) ringing, as a SIP call would;
// the ;1 half waits for the answer and then sits in callgw-test,answer. The
// ;2 half gets an id of the shape Asterisk gives inbound channels with
// systemname set.
func (p *ariPBX) InboundCall(from, exten string) (string, error) {
	n := inboundSeq.Add(1)
	id := fmt.Sprintf("%s-%d.%d", realNode, time.Now().UnixNano(), n)
	q := url.Values{
		"endpoint": {"Local/" + exten + "@callgw-in"}, "context": {"callgw-test"}, "extension": {"answer"}, "priority": {"1"},
		"channelId": {"in-" + id}, "otherChannelId": {id}, "callerId": {fmt.Sprintf("%q <%s>", from, from)}, "timeout": {"300"},
	}
	if st, b := p.do("POST", "/channels", q); st != http.StatusOK {
		return "", fmt.Errorf("inbound originate: %d %s", st, b)
	}
	return id, nil
}

// cleanup removes what the test left on the Asterisk, so that the next
// test's worker adopts none of it.
func (p *ariPBX) cleanup() {
	for id := range p.ids("/channels", "id") {
		if !p.baseChannels[id] {
			p.do("DELETE", "/channels/"+url.PathEscape(id), nil)
		}
	}
	for id := range p.ids("/bridges", "id") {
		if !p.baseBridges[id] {
			p.do("DELETE", "/bridges/"+url.PathEscape(id), nil)
		}
	}
	for name := range p.ids("/recordings/stored", "name") {
		if !p.baseRecordings[name] {
			p.do("DELETE", "/recordings/stored/"+url.PathEscape(name), nil)
		}
	}
	// Channels go asynchronously: wait until they are gone.
	for deadline := time.Now().Add(5 * time.Second); p.ChannelCount() > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			p.t.Logf("cleanup: %d channels still on the Asterisk", p.ChannelCount())
			return
		}
	}
}

// pbx returns node's PBX.
func (s *system) pbx(node string) pbx {
	s.t.Helper()
	if p := s.pbxs[node]; p != nil {
		return p
	}
	s.t.Fatalf("no node %s", node)
	return nil
}

// sipTarget returns the real Asterisk's SIP address (host:port) for sipp,
// from CALLGW_TEST_SIP_TARGET, or "" when inbound SIP is not to be tested.
// The Asterisk needs a PJSIP endpoint that takes sipp's calls (identified by
// its address, 127.0.0.1:5070 unless CALLGW_TEST_SIP_LOCAL says otherwise)
// into context callgw-in.
func sipTarget() string {
	if u, _, _ := realARI(); u == "" {
		return ""
	}
	return os.Getenv("CALLGW_TEST_SIP_TARGET")
}

// sippUAC is sipp's side of an inbound call: INVITE for [service], then
// either a 302 (the call was redirected: ACK, done) or a 200 (ACK, wait for
// the BYE, answer it).
const sippUAC = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callgw inbound">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[field0]" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:[field0]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="302" optional="true" next="moved"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[field0]" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:[field0]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv request="BYE"/>
  <send next="end">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
  <label id="moved"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "[field0]" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <label id="end"/>
</scenario>
`

// sippBYE is sippUAC where sipp hangs up itself, 1.5 s after the answer.
var sippBYE = func() string {
	i := strings.Index(sippUAC, `  <recv request="BYE"/>`)
	j := strings.Index(sippUAC, `  <label id="moved"/>`)
	return sippUAC[:i] + `  <pause milliseconds="1500"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[field0]" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:[field0]@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" next="end"/>
` + sippUAC[j:]
}()

// sipCall starts sipp calling exten at sipTarget() as from; the returned
// function waits for sipp to end and fails the test unless its call
// completed (sipp exits 0).
func sipCall(t *testing.T, from, exten string) (wait func()) {
	t.Helper()
	return runSipp(t, sippUAC, from, exten)
}

// runSipp runs sipp with scenario for one call from from to exten.
func runSipp(t *testing.T, scenario, from, exten string) (wait func()) {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("CALLGW_TEST_SIP_TARGET is set but sipp is not installed (Debian: sip-tester): %v", err)
	}
	dir := t.TempDir()
	scen, inj := filepath.Join(dir, "uac.xml"), filepath.Join(dir, "from.csv")
	if err := os.WriteFile(scen, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inj, []byte("SEQUENTIAL\n"+from+";\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := os.Getenv("CALLGW_TEST_SIP_LOCAL")
	if local == "" {
		local = "127.0.0.1:5070"
	}
	host, port, err := net.SplitHostPort(local)
	if err != nil {
		t.Fatalf("CALLGW_TEST_SIP_LOCAL=%q: %v", local, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, bin, sipTarget(), "-sf", scen, "-inf", inj, "-s", exten, "-i", host, "-p", port,
		"-m", "1", "-l", "1", "-timeout", "50s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("sipp: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	var werr error
	wait = func() {
		t.Helper()
		once.Do(func() { werr = <-done; cancel() })
		if werr != nil {
			errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
			t.Fatalf("sipp: %v\n%s\n%s", werr, lastLines(out.String(), 15), errs)
		}
	}
	t.Cleanup(func() {
		cancel()
		once.Do(func() { werr = <-done })
	})
	return wait
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
