package main

import (
	"context"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// TestCallRecords: a call that ended stays readable with its outcome;
// listings of live and ended calls paginate with a cursor.
func TestCallRecords(t *testing.T) {
	s := startStack(t, "pbx1")
	c, err := client.New(s.base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ids []string
	for range 3 {
		call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/answer@callgw-test", Wait: callapi.WaitAnswered, Tags: []string{"rec"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(call.ID))
	}
	// Live calls, one page at a time.
	var paged []string
	f := client.ListCallsFilter{Tag: "rec", Limit: 2}
	for pages := 0; ; pages++ {
		l, err := c.ListCalls(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range l.Calls {
			paged = append(paged, string(call.ID))
		}
		if l.NextCursor == "" {
			if pages != 1 {
				t.Errorf("%d pages of 2 for 3 calls", pages+1)
			}
			break
		}
		f.Cursor = l.NextCursor
	}
	if len(paged) != 3 {
		t.Fatalf("paged through %v, want the 3 calls %v", paged, ids)
	}
	var all []string
	for call, err := range c.AllCalls(ctx, client.ListCallsFilter{Tag: "rec", Limit: 1}, nil) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, string(call.ID))
	}
	if len(all) != 3 || all[0] != paged[0] || all[2] != paged[2] {
		t.Fatalf("AllCalls %v, pages %v", all, paged)
	}

	time.Sleep(50 * time.Millisecond) // some talk time
	if err := c.Hangup(ctx, callapi.CallID(ids[0]), "busy"); err != nil {
		t.Fatal(err)
	}
	var rec *callapi.Call
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err = c.GetCall(ctx, callapi.CallID(ids[0]))
		if err == nil && rec.State == "ended" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ended call not readable: %+v %v", rec, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rec.EndReason != "api" || rec.Hangup == nil || rec.Hangup.Cause != 17 || rec.Node != "pbx1" || len(rec.Tags) != 1 ||
		rec.EndedAt == nil || rec.DurationMS == nil || rec.TalkMS == nil || *rec.TalkMS < 50 || *rec.DurationMS < *rec.TalkMS {
		t.Fatalf("record: %+v hangup %+v", rec, rec.Hangup)
	}
	ended, err := c.ListCalls(ctx, client.ListCallsFilter{State: "ended", Tag: "rec"})
	if err != nil || len(ended.Calls) != 1 || string(ended.Calls[0].ID) != ids[0] {
		t.Fatalf("ended list: %+v %v", ended, err)
	}
	for _, id := range ids[1:] {
		if err := c.Hangup(ctx, callapi.CallID(id), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ListCalls(ctx, client.ListCallsFilter{Cursor: "garbage!"}); client.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("bad cursor: %v", err)
	}
}
