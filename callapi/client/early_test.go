package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// TestEarlyMethods: CreateCall, DialCall and SendMessage send the bodies
// and paths of openapi.json and decode the answers (201, 204, 202).
func TestEarlyMethods(t *testing.T) {
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/calls/create":
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(callapi.Call{ID: "c1", State: callapi.StateDown})
		case "/v1/calls/c1/dial":
			w.WriteHeader(204)
		case "/v1/messages":
			w.WriteHeader(202)
			_ = json.NewEncoder(w).Encode(callapi.MessageSent{Node: "pbx1", To: "PJSIP/alice"})
		}
	}))
	defer ts.Close()
	c, err := New(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call, err := c.CreateCall(ctx, callapi.CreateRequest{CreateArgs: callapi.CreateArgs{To: "PJSIP/alice"}})
	if err != nil || call.ID != "c1" || call.State != callapi.StateDown {
		t.Fatalf("CreateCall %+v %v", call, err)
	}
	if err := c.DialCall(ctx, "c1", callapi.DialArgs{Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	sent, err := c.SendMessage(ctx, callapi.MessageRequest{MessageArgs: callapi.MessageArgs{To: "PJSIP/alice", From: "sip:a@b", Body: "hi"}})
	if err != nil || sent.Node != "pbx1" {
		t.Fatalf("SendMessage %+v %v", sent, err)
	}
	want := []string{
		`POST /v1/calls/create {"to":"PJSIP/alice"}`,
		`POST /v1/calls/c1/dial {"timeout":30}`,
		`POST /v1/messages {"to":"PJSIP/alice","from":"sip:a@b","body":"hi"}`,
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i]+"\n" && got[i] != want[i] {
			t.Fatalf("requests %q, want %q", got, want)
		}
	}
}
