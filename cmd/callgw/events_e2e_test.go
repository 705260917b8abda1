package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// collect gathers the events a spy receives until no message came for
// quiet, keyed by event id (a spy may see one event more than once only
// when it is bound more than once, which these tests do not do).
func (sp *spy) collect(quiet time.Duration) []callapi.Event {
	sp.t.Helper()
	var out []callapi.Event
	for {
		select {
		case d := <-sp.d:
			var e callapi.Event
			if err := json.Unmarshal(d.Body, &e); err != nil {
				sp.t.Fatalf("undecodable event %s: %v", d.Body, err)
			}
			out = append(out, e)
		case <-time.After(quiet):
			return out
		}
	}
}

// originateAndEnd places an answered call and hangs it up.
func (s *system) originateAndEnd(node string, tags ...string) callapi.CallID {
	s.t.Helper()
	body := map[string]any{"to": "Local/answer@callgw-test", "node": node, "wait": "answered"}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	st, _, b := s.do("POST", "/v1/calls", body)
	if st != http.StatusCreated {
		s.t.Fatalf("originate on %s: %d %s", node, st, b)
	}
	var c callapi.Call
	mustJSON(s.t, b, &c)
	if st, _, b := s.do("DELETE", "/v1/calls/"+string(c.ID), nil); st != http.StatusNoContent {
		s.t.Fatalf("hangup: %d %s", st, b)
	}
	return c.ID
}

func hasTag(e callapi.Event, tag string) bool {
	for _, t := range e.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// TestRoutedPatterns binds three queues to callapi.events.routed and checks
// each got exactly the events its pattern names: none missing, none extra.
func TestRoutedPatterns(t *testing.T) {
	s := startStack(t, "pbx1", "pbx2")
	all := s.spy(callapi.ExchangeEvents) // the fanout: ground truth
	qNode := s.spy(callapi.ExchangeEventsRouted, "*.pbx1.call.#")
	qHangup := s.spy(callapi.ExchangeEventsRouted, "#.call.hangup.#")
	qTag := s.spy(callapi.ExchangeEventsRouted, "*.tag.sales-42")

	ours := map[callapi.CallID]bool{
		s.originateAndEnd("pbx1", "sales-42"):        true,
		s.originateAndEnd("pbx2"):                    true,
		s.originateAndEnd("pbx2", "sales-42", "vip"): true,
		s.originateAndEnd("pbx1"):                    true,
	}
	truth := all.collect(700 * time.Millisecond)
	want := map[string]map[string]bool{"node": {}, "hangup": {}, "tag": {}}
	seen := map[string]bool{}
	for _, e := range truth {
		if !ours[e.CallID] {
			continue
		}
		if seen[e.ID] {
			t.Fatalf("fanout delivered event %s twice", e.ID)
		}
		seen[e.ID] = true
		if e.Node == "pbx1" && e.Type.Resource() == "call" {
			want["node"][e.ID] = true
		}
		if e.Type == callapi.EvCallHangup {
			want["hangup"][e.ID] = true
		}
		if hasTag(e, "sales-42") {
			want["tag"][e.ID] = true
		}
	}
	if len(want["hangup"]) != 4 {
		t.Fatalf("fanout saw %d hangups, want 4", len(want["hangup"]))
	}
	for name, q := range map[string]*spy{"node": qNode, "hangup": qHangup, "tag": qTag} {
		got := map[string]bool{}
		for _, e := range q.collect(300 * time.Millisecond) {
			if got[e.ID] {
				t.Errorf("%s queue got event %s (%s) twice", name, e.ID, e.Type)
			}
			got[e.ID] = true
			if !want[name][e.ID] {
				t.Errorf("%s queue got extra event %s %s node=%s tags=%v", name, e.Type, e.CallID, e.Node, e.Tags)
			}
		}
		for id := range want[name] {
			if !got[id] {
				t.Errorf("%s queue is missing event %s", name, id)
			}
		}
		if len(want[name]) == 0 {
			t.Errorf("%s: nothing expected: the test proves nothing", name)
		}
	}
}

// TestHangupWhileEventsDown: the ARI WebSocket is down while a call ends;
// after the reconnect subscribers get its call.hangup and the other calls
// keep working.
func TestHangupWhileEventsDown(t *testing.T) {
	simOnly(t, "pbx1", "the ARI WebSocket is cut with the simulator's RefuseFor")
	s := startStack(t, "pbx1")
	sp := s.spy(callapi.ExchangeEvents)
	var ids []callapi.CallID
	for range 2 {
		st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"})
		if st != http.StatusCreated {
			t.Fatalf("originate: %d %s", st, b)
		}
		var c callapi.Call
		mustJSON(t, b, &c)
		ids = append(ids, c.ID)
	}
	sp.drain()
	sim := s.sims["pbx1"]
	sim.RefuseFor(1500 * time.Millisecond) // drops the WebSocket, refuses reconnects
	time.Sleep(100 * time.Millisecond)
	sim.HangupChannel(string(ids[0]), 16) // the far end hangs up meanwhile
	e := sp.next(ids[0], 10*time.Second)
	if e.Type != callapi.EvCallHangup {
		t.Fatalf("after reconnect: %s, want call.hangup", e.Type)
	}
	// The other call is still there and still controllable.
	if st, _, b := s.do("GET", "/v1/calls/"+string(ids[1]), nil); st != 200 {
		t.Fatalf("other call: %d %s", st, b)
	}
	if st, _, b := s.do("DELETE", "/v1/calls/"+string(ids[1]), nil); st != http.StatusNoContent {
		t.Fatalf("other call hangup: %d %s", st, b)
	}
	if e := sp.next(ids[1], 5*time.Second); e.Type != callapi.EvCallHangup {
		t.Fatalf("other call: %s, want call.hangup", e.Type)
	}
}

// TestPerCallOrder: under 200 concurrent calls, each call's events reach a
// subscriber with strictly increasing seq and in lifecycle order.
func TestPerCallOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("200 calls; -short")
	}
	s := startStack(t, "pbx1")
	sp := s.spy(callapi.ExchangeEvents)
	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered", "tags": []string{fmt.Sprintf("c%d", i)}})
			if st != http.StatusCreated {
				errs <- fmt.Errorf("originate: %d %s", st, b)
				return
			}
			var c callapi.Call
			if err := json.Unmarshal(b, &c); err != nil {
				errs <- err
				return
			}
			if st, _, b := s.do("DELETE", "/v1/calls/"+string(c.ID), nil); st != http.StatusNoContent {
				errs <- fmt.Errorf("hangup: %d %s", st, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	byCall := map[callapi.CallID][]callapi.Event{}
	for _, e := range sp.collect(time.Second) {
		if e.Type.Resource() == "call" {
			byCall[e.CallID] = append(byCall[e.CallID], e)
		}
	}
	if len(byCall) != n {
		t.Fatalf("events for %d calls, want %d", len(byCall), n)
	}
	rank := map[callapi.EventType]int{callapi.EvCallCreated: 0, callapi.EvCallRinging: 1, callapi.EvCallAnswered: 2, callapi.EvCallHangup: 9}
	for id, evs := range byCall {
		var types []string
		for i, e := range evs {
			types = append(types, string(e.Type))
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Fatalf("call %s: seq %d after %d: %v", id, e.Seq, evs[i-1].Seq, types)
			}
			if i > 0 && rank[e.Type] < rank[evs[i-1].Type] {
				t.Fatalf("call %s: %s after %s", id, e.Type, evs[i-1].Type)
			}
		}
		if evs[0].Type != callapi.EvCallCreated || evs[len(evs)-1].Type != callapi.EvCallHangup {
			t.Fatalf("call %s: events %v, want call.created first and call.hangup last", id, types)
		}
		if !sort.SliceIsSorted(evs, func(i, j int) bool { return evs[i].Seq < evs[j].Seq }) {
			t.Fatalf("call %s: not in seq order", id)
		}
	}
}

// TestNodeLifecycle: a worker that stops gracefully announces draining and
// down; the gateway then refuses its commands at once and shows it down.
func TestNodeLifecycle(t *testing.T) {
	s := startStack(t, "pbx1", "pbx2")
	sp := s.spy(callapi.ExchangeEventsRouted, "_.pbx2.node.#")
	if st, _, b := s.do("GET", "/v1/nodes/pbx2", nil); st != 200 || !strings.Contains(string(b), `"state":"up"`) {
		t.Fatalf("pbx2 before: %d %s", st, b)
	}
	s.stopWorker["pbx2"]()
	var types []callapi.EventType
	for _, e := range sp.collect(500 * time.Millisecond) {
		if e.Node != "pbx2" || e.Tenant != "" {
			t.Fatalf("foreign node event: %+v", e)
		}
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[0] != callapi.EvNodeDraining || types[1] != callapi.EvNodeDown {
		t.Fatalf("node events = %v, want [node.draining node.down]", types)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		st, _, b := s.do("GET", "/v1/nodes/pbx2", nil)
		if st == 200 && strings.Contains(string(b), `"state":"down"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pbx2 not shown down: %d %s", st, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "node": "pbx2"})
	if st != http.StatusServiceUnavailable || !strings.Contains(string(b), "node_unavailable") || time.Since(start) > time.Second {
		t.Fatalf("originate on stopped pbx2: %d %s after %v", st, b, time.Since(start))
	}
	// pbx1 still serves, also for calls sent to any node.
	if st, _, b := s.do("POST", "/v1/calls", map[string]any{"to": "Local/answer@callgw-test", "wait": "answered"}); st != http.StatusCreated || !strings.Contains(string(b), `"node":"pbx1"`) {
		t.Fatalf("originate on any: %d %s", st, b)
	}
}
