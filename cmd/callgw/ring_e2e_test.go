package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// ringSeconds is how long Local/slow<N>@callgw-test rings before it
// answers: a real phone's ring time, beyond the 5 s default deadline.
const ringSeconds = 10

// TestWaitAnsweredCoversRingTime: an originate that waits for the answer
// and names no deadline is held while the phone rings (here 10 s, as real
// phones do), through REST and through the SDK; one whose explicit
// deadline is shorter than the ring fails with 504 saying what to change.
func TestWaitAnsweredCoversRingTime(t *testing.T) {
	s := startStack(t, "pbx1")
	to := "Local/slow10@callgw-test"
	post := func(t *testing.T, query string, body any) (int, []byte) {
		b, _ := json.Marshal(body)
		resp, err := http.Post(s.base+"/v1/calls"+query, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	t.Run("REST", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		st, body := post(t, "", map[string]any{"to": to, "wait": "answered", "timeout": 30})
		var c callapi.Call
		mustJSON(t, body, &c)
		if st != http.StatusCreated || c.State != callapi.StateUp || time.Since(start) < ringSeconds*time.Second {
			t.Fatalf("after %s: %d %s, want 201 and an answered call after %d s of ringing", time.Since(start).Round(time.Millisecond), st, body, ringSeconds)
		}
	})
	t.Run("SDK", func(t *testing.T) {
		t.Parallel()
		c, err := client.New(s.base)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		call, err := c.Originate(ctx, callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: to, Wait: callapi.WaitAnswered}})
		if err != nil || call.State != callapi.StateUp {
			t.Fatalf("Originate: %+v, %v; want an answered call", call, err)
		}
	})
	t.Run("explicit deadline shorter than the ring", func(t *testing.T) {
		t.Parallel()
		st, body := post(t, "?timeout=3s", map[string]any{"to": to, "wait": "answered", "timeout": 30})
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		mustJSON(t, body, &p)
		if st != http.StatusGatewayTimeout || p.Code != "timeout" || !strings.Contains(p.Detail, "at least 35s") || strings.Contains(p.Detail, " any ") {
			t.Fatalf("%d %s: want 504 saying which deadline to ask for, naming no queue", st, body)
		}
	})
}
