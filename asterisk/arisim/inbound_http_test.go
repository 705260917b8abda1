package arisim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
)

func postInbound(t *testing.T, tg *target, user, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", strings.TrimSuffix(tg.url, "/ari")+arisim.InboundPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, tg.pass)
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInboundOnRequest: POST /ari-sim/inbound places an inbound call into
// the Stasis app (409 while no WebSocket serves it; 401 without the ARI
// credentials; 400 for a bad body), and hangup_after makes the caller hang
// up.
func TestInboundOnRequest(t *testing.T) {
	tg := newSim(t, arisim.Config{InboundApp: "callgw", SystemName: "pbx1"})
	if st, b := postInbound(t, tg, tg.user, `{"from":"alice"}`); st != http.StatusConflict {
		t.Fatalf("no app: %d %s", st, b)
	}
	ev := tg.listen(t, "callgw", false)
	for _, tc := range []struct {
		user, body string
		status     int
	}{
		{"nobody", `{"from":"alice"}`, 401},
		{tg.user, `{"from":"al ice"}`, 400},
		{tg.user, `{"from":"alice","colour":"red"}`, 400},
		{tg.user, `{"from":"alice","hangup_after":"soon"}`, 400},
	} {
		if st, b := postInbound(t, tg, tc.user, tc.body); st != tc.status {
			t.Errorf("%s as %s: %d %s, want %d", tc.body, tc.user, st, b, tc.status)
		}
	}
	st, b := postInbound(t, tg, tg.user, `{"from":"alice","to":"5551000","hangup_after":"100ms"}`)
	if st != http.StatusCreated {
		t.Fatalf("inbound: %d %s", st, b)
	}
	var ans arisim.InboundAnswer
	if err := json.Unmarshal([]byte(b), &ans); err != nil || ans.App != "callgw" || ans.To != "5551000" {
		t.Fatalf("answer %s %v", b, err)
	}
	ss := ev.wait(t, "StasisStart", isChan(ans.ChannelID), time.Second)
	if args := ss["args"].([]any); len(args) != 1 || args[0] != "5551000" {
		t.Fatalf("args %v", ss["args"])
	}
	ev.wait(t, "StasisEnd", isChan(ans.ChannelID), 2*time.Second)
}
