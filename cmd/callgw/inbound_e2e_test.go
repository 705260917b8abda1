package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// TestDevInbound: in `callgw dev`, POST /ari-sim/inbound (what `callctl
// inbound` sends) places an inbound call: it appears as call.created with
// direction inbound, can be answered and hung up through the API, and its
// record says so.
func TestDevInbound(t *testing.T) {
	d := startDevProcess(t)
	c, err := client.New(d.base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	connected := make(chan struct{}, 1)
	st, err := c.Events(ctx, client.EventFilter{Types: []callapi.EventType{callapi.EvCallCreated}}, client.StreamOptions{OnConnect: func() { connected <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	created := make(chan *callapi.Event, 1)
	go func() {
		e, err := st.Next()
		if err == nil {
			created <- e
		}
	}()
	<-connected

	req, _ := http.NewRequestWithContext(ctx, "POST", d.sim+arisim.InboundPath, strings.NewReader(`{"from":"alice","to":"100"}`))
	req.SetBasicAuth("callgw", "callgw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans arisim.InboundAnswer
	err = json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("inbound: %d %v", resp.StatusCode, err)
	}
	var e *callapi.Event
	select {
	case e = <-created:
	case <-ctx.Done():
		t.Fatal("no call.created for the inbound call")
	}
	data, _ := callapi.DecodeData(e)
	cd := data.(*callapi.CreatedData)
	if string(e.CallID) != ans.ChannelID || cd.Direction != "inbound" || cd.From != "alice" || len(cd.Args) != 1 || cd.Args[0] != "100" {
		t.Fatalf("call.created %+v data %+v", e, cd)
	}
	if err := c.Answer(ctx, callapi.CallID(ans.ChannelID)); err != nil {
		t.Fatal(err)
	}
	call, err := c.GetCall(ctx, callapi.CallID(ans.ChannelID))
	if err != nil || call.State != "up" || call.Direction != "inbound" {
		t.Fatalf("answered inbound call: %+v %v", call, err)
	}
	if err := c.Hangup(ctx, callapi.CallID(ans.ChannelID), ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rec, err := c.GetCall(ctx, callapi.CallID(ans.ChannelID))
		if err == nil && rec.State == "ended" {
			if rec.Direction != "inbound" || rec.EndReason != "api" || rec.TalkMS == nil {
				t.Fatalf("record %+v", rec)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record: %+v %v", rec, err)
		}
	}
}
