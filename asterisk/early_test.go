package asterisk

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
)

// TestCreateThenDial: call.create makes a call that is in the app but not
// dialled (call.created, state down); variables can be set before call.dial
// rings it; dialling it again, dialling an originated call, or another
// tenant's, is refused.
func TestCreateThenDial(t *testing.T) {
	h := newHarness(t)
	h.srv.AddEndpoint("alice", arisim.Endpoint{RingFor: 50 * time.Millisecond})
	ctx := ctxT(t, 10*time.Second)
	id := newID()
	c, err := h.pbx.Create(ctx, "acme", id, callapi.CreateArgs{To: "PJSIP/alice", Tags: []string{"t1"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Tenant != "acme" || c.State != callapi.StateDown || c.Direction != callapi.Outbound {
		t.Fatalf("created %+v", c)
	}
	h.sink.waitFor(t, id, callapi.EvCallCreated)
	if err := h.pbx.SetVariable(ctx, "acme", id, "X_BEFORE_DIAL", "1"); err != nil {
		t.Fatalf("set-up before dial: %v", err)
	}
	if err := h.pbx.Dial(ctx, "beta", id, callapi.DialArgs{}); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("another tenant's dial: %v, want not_found", err)
	}
	if err := h.pbx.Dial(ctx, "acme", id, callapi.DialArgs{Timeout: 10}); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, id, callapi.EvCallRinging)
	h.sink.waitFor(t, id, callapi.EvCallAnswered)
	if got := types(h.sink.of(id), ""); !slices.Equal(got[:3], []callapi.EventType{callapi.EvCallCreated, callapi.EvCallRinging, callapi.EvCallAnswered}) {
		t.Fatalf("events %v", got)
	}
	if err := h.pbx.Dial(ctx, "acme", id, callapi.DialArgs{}); callapi.ErrorCode(err) != callapi.CodeConflict {
		t.Fatalf("second dial: %v, want conflict", err)
	}
	other := newID()
	if _, err := h.pbx.Originate(ctx, "acme", other, callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered}); err != nil {
		t.Fatal(err)
	}
	if err := h.pbx.Dial(ctx, "acme", other, callapi.DialArgs{}); callapi.ErrorCode(err) != callapi.CodeConflict {
		t.Fatalf("dialling an originated call: %v, want conflict", err)
	}
	if _, err := h.pbx.Create(ctx, "acme", newID(), callapi.CreateArgs{To: "PJSIP/alice", Originator: newID()}); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("unknown originator: %v, want not_found", err)
	}
	if _, err := h.pbx.Create(ctx, "acme", id, callapi.CreateArgs{To: "PJSIP/alice"}); callapi.ErrorCode(err) != callapi.CodeConflict {
		t.Fatalf("an id in use: %v, want conflict", err)
	}
}

// TestSendMessage: a message to an endpoint of the tenant reaches ARI's
// sendMessage; an unknown endpoint and another tenant's are not_found.
func TestSendMessage(t *testing.T) {
	h := newHarness(t)
	h.srv.AddEndpoint("alice", arisim.Endpoint{})
	ctx := ctxT(t, 5*time.Second)
	m := callapi.MessageArgs{To: "PJSIP/alice", From: "sip:shop@pbx", Body: "your order shipped", Variables: map[string]string{"X-Order": "42"}}
	if err := h.pbx.SendMessage(ctx, "acme", m); err != nil {
		t.Fatal(err)
	}
	sent := h.srv.SentMessages()
	want := arisim.TextMessage{From: "sip:shop@pbx", To: "pjsip:alice", Body: "your order shipped", Variables: map[string]string{"X-Order": "42"}}
	if len(sent) != 1 || sent[0].From != want.From || sent[0].To != want.To || sent[0].Body != want.Body || sent[0].Variables["X-Order"] != "42" {
		t.Fatalf("sent %+v, want %+v", sent, want)
	}
	if err := h.pbx.SendMessage(ctx, "beta", m); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("another tenant's endpoint: %v, want not_found", err)
	}
	m.To = "PJSIP/nobody"
	if err := h.pbx.SendMessage(ctx, "acme", m); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Fatalf("unknown endpoint: %v, want not_found", err)
	}
	if n := len(h.srv.SentMessages()); n != 1 {
		t.Fatalf("%d messages sent, want 1", n)
	}
}

// TestMessageReceived: an endpoint's message becomes message.received, of
// the tenant that owns the endpoint (EndpointTenant; Tenant without one).
func TestMessageReceived(t *testing.T) {
	srv, ts := newSim(t)
	srv.AddEndpoint("alice", arisim.Endpoint{})
	srv.AddEndpoint("bob", arisim.Endpoint{})
	_, sink, _ := startPBX(t, ts, func(c *Config) {
		c.EndpointTenant = func(ep string) string {
			if ep == "PJSIP/bob" {
				return "beta"
			}
			return c.Tenant
		}
	})
	srv.ReceiveMessage("alice", arisim.TextMessage{From: "sip:alice@x", To: "pjsip:callgw", Body: "hello"})
	srv.ReceiveMessage("bob", arisim.TextMessage{From: "sip:bob@x", To: "pjsip:callgw", Body: "hi", Variables: map[string]string{"X-A": "1"}})
	var got []*callapi.Event
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = nil
		sink.mu.Lock()
		for _, e := range sink.evs {
			if e.Type == callapi.EvMessageReceived {
				got = append(got, e)
			}
		}
		sink.mu.Unlock()
	}
	if len(got) != 2 {
		t.Fatalf("%d message.received events, want 2", len(got))
	}
	for i, want := range []struct{ tenant, endpoint, body string }{{"acme", "PJSIP/alice", "hello"}, {"beta", "PJSIP/bob", "hi"}} {
		var d callapi.MessageData
		if err := json.Unmarshal(got[i].Data, &d); err != nil {
			t.Fatal(err)
		}
		if got[i].Tenant != want.tenant || got[i].Node != "pbx1" || d.Endpoint != want.endpoint || d.Body != want.body || len(got[i].ARI) == 0 {
			t.Errorf("event %d: %+v %+v", i, got[i], d)
		}
	}
}
