package arisim_test

import (
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/callgw/callgw/asterisk/arisim"
)

// TestSendMessageConformance: PUT /endpoints/{tech}/{resource}/sendMessage
// answers as resource_endpoints.c: 202 and no body for a known endpoint,
// 404 "Endpoint not found" for an unknown one (before the body is read),
// 400 for a variable that is not a string. Against a real Asterisk the
// endpoint is CALLGW_TEST_MESSAGE_ENDPOINT (a PJSIP endpoint's name).
func TestSendMessageConformance(t *testing.T) {
	tg := newTarget(t, arisim.Config{})
	ep := os.Getenv("CALLGW_TEST_MESSAGE_ENDPOINT")
	if tg.sim != nil {
		ep = "alice"
		tg.sim.AddEndpoint(ep, arisim.Endpoint{})
	} else if ep == "" {
		t.Fatal("set CALLGW_TEST_MESSAGE_ENDPOINT to a PJSIP endpoint with CALLGW_TEST_ARI_URL")
	}
	q := url.Values{"from": {"sip:shop@callgw.test"}, "body": {"hello"}}
	st, body := tg.do(t, http.MethodPut, "/endpoints/PJSIP/"+ep+"/sendMessage", q, map[string]any{"variables": map[string]string{"X-Order": "42"}})
	if st != http.StatusAccepted || len(body) != 0 {
		t.Fatalf("known endpoint: %d %s, want 202 and no body", st, body)
	}
	st, body = tg.do(t, http.MethodPut, "/endpoints/PJSIP/nobody-callgw/sendMessage", q, map[string]any{"variables": map[string]any{"X": 1}})
	if st != http.StatusNotFound || string(body) != `{"message":"Endpoint not found"}` {
		t.Fatalf("unknown endpoint: %d %s", st, body)
	}
	st, body = tg.do(t, http.MethodPut, "/endpoints/PJSIP/"+ep+"/sendMessage", q, map[string]any{"variables": map[string]any{"X": 1}})
	if st != http.StatusBadRequest || string(body) != `{"message":"Only string values in the 'variables' object allowed"}` {
		t.Fatalf("non-string variable: %d %s", st, body)
	}
	if tg.sim != nil {
		if sent := tg.sim.SentMessages(); len(sent) != 1 || sent[0].To != "pjsip:"+ep || sent[0].Body != "hello" || sent[0].Variables["X-Order"] != "42" {
			t.Fatalf("sent %+v", sent)
		}
	}
}
