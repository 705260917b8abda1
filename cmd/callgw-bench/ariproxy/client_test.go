package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// fakeClient is an ari.Client whose channels only set variables; every
// other method is the nil interface's (it panics, so a test that reaches
// one fails).
type fakeClient struct {
	ari.Client
	ch *fakeChannel
}

func (f *fakeClient) Channel() ari.Channel { return f.ch }

type fakeChannel struct {
	ari.Channel
	mu   sync.Mutex
	keys []*ari.Key
	fail string // channel id whose set fails
}

func (f *fakeChannel) SetVariable(key *ari.Key, name, value string) error {
	f.mu.Lock()
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	if key.ID == f.fail {
		return errors.New("boom")
	}
	if name != "BENCH" || value != "4711" {
		return errors.New("wrong variable")
	}
	time.Sleep(100 * time.Microsecond)
	return nil
}

func TestServeWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		status   int
		wantErrs bool
	}{
		{"ok", `{"inflight":4,"duration_ns":50000000,"ids":["a","b"],"variable":"BENCH","value":"4711"}`, http.StatusOK, false},
		{"errors counted", `{"inflight":2,"duration_ns":50000000,"ids":["a","bad"],"variable":"BENCH","value":"4711"}`, http.StatusOK, true},
		{"no ids", `{"inflight":4,"duration_ns":50000000,"ids":[],"variable":"BENCH"}`, http.StatusBadRequest, false},
		{"no duration", `{"inflight":4,"ids":["a"],"variable":"BENCH"}`, http.StatusBadRequest, false},
		{"too many in flight", `{"inflight":5000,"duration_ns":1,"ids":["a"],"variable":"BENCH"}`, http.StatusBadRequest, false},
		{"not json", `{`, http.StatusBadRequest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := &fakeChannel{fail: "bad"}
			c := &loadClient{cl: &fakeClient{ch: ch}, app: "ariproxy", node: "bench1"}
			rec := httptest.NewRecorder()
			c.serveWindow(rec, httptest.NewRequest(http.MethodPost, "/window", strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != http.StatusOK {
				return
			}
			var w Window
			if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
				t.Fatal(err)
			}
			if w.OK == 0 || int64(len(w.LatNS)) != w.OK || !slices.IsSorted(w.LatNS) || w.Elapsed < int64(50*time.Millisecond) {
				t.Fatalf("window %+v", w)
			}
			if (w.Errors > 0) != tc.wantErrs || (w.FirstErr != "") != tc.wantErrs {
				t.Fatalf("errors %d (%q), want some: %v", w.Errors, w.FirstErr, tc.wantErrs)
			}
			ch.mu.Lock()
			defer ch.mu.Unlock()
			for _, k := range ch.keys { // complete coordinates: one proxy's subject, no broadcast
				if k.Kind != ari.ChannelKey || k.App != "ariproxy" || k.Node != "bench1" {
					t.Fatalf("key %+v", k)
				}
			}
		})
	}
}
