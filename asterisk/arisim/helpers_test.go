package arisim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/asterisk/arisim"
)

// target is an ARI server under test: the simulator, or a real Asterisk when CALLGW_TEST_ARI_URL
// is set (with CALLGW_TEST_ARI_USER, CALLGW_TEST_ARI_PASSWORD, CALLGW_TEST_ARI_APP).
type target struct {
	url, user, pass, app string
	sim                  *arisim.Server // nil against a real Asterisk
	client               *http.Client
}

var appSeq atomic.Int64

// realTarget reports whether the suite runs against a real Asterisk.
func realTarget() bool { return os.Getenv("CALLGW_TEST_ARI_URL") != "" }

// newTarget returns a fresh simulator (or the real Asterisk) and a unique app name.
func newTarget(t testing.TB, cfg arisim.Config) *target {
	t.Helper()
	if u := os.Getenv("CALLGW_TEST_ARI_URL"); u != "" {
		app := os.Getenv("CALLGW_TEST_ARI_APP")
		if app == "" {
			app = "callgwtest"
		}
		tg := &target{url: strings.TrimRight(u, "/"), user: os.Getenv("CALLGW_TEST_ARI_USER"), pass: os.Getenv("CALLGW_TEST_ARI_PASSWORD"),
			app: fmt.Sprintf("%s%d", app, appSeq.Add(1)), client: &http.Client{Timeout: 5 * time.Second}}
		t.Cleanup(func() { tg.cleanupReal(t) }) // registered first: runs after the listeners closed
		return tg
	}
	return newSim(t, cfg)
}

// newSim always starts a simulator (for simulator-only behaviour: faults, hooks).
func newSim(t testing.TB, cfg arisim.Config) *target {
	t.Helper()
	if cfg.User == "" {
		cfg.User, cfg.Password = "u", "p"
	}
	if cfg.Log == nil {
		cfg.Log = zaptest.NewLogger(t)
	}
	if cfg.PlaybackDuration == 0 {
		cfg.PlaybackDuration = 50 * time.Millisecond
	}
	if cfg.DialplanStep == 0 {
		cfg.DialplanStep = 50 * time.Millisecond
	}
	if cfg.DTMFInterval == 0 {
		cfg.DTMFInterval = 30 * time.Millisecond
	}
	srv := arisim.New(cfg)
	ts := httptest.NewServer(srv.Handler())
	tr := &http.Transport{}
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		tr.CloseIdleConnections()
	})
	return &target{url: ts.URL + "/ari", user: cfg.User, pass: cfg.Password, app: fmt.Sprintf("t%d", appSeq.Add(1)), sim: srv,
		client: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// do performs a raw REST call; q goes in the query string, body (if any) as JSON.
func (tg *target) do(t testing.TB, method, path string, q url.Values, body any) (int, []byte) {
	t.Helper()
	u := tg.url + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(tg.user, tg.pass)
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// mustDo is do that expects a status.
func (tg *target) mustDo(t testing.TB, want int, method, path string, q url.Values, body any) map[string]any {
	t.Helper()
	st, b := tg.do(t, method, path, q, body)
	if st != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// events is a raw events WebSocket collecting everything it receives.
type events struct {
	mu   sync.Mutex
	all  []map[string]any
	raw  [][]byte
	cond chan struct{}
	err  error
}

// listen opens /ari/events for app (with subscribeAll when all) and waits until it is registered.
func (tg *target) listen(t testing.TB, app string, all bool) *events {
	t.Helper()
	q := url.Values{"app": {app}, "api_key": {tg.user + ":" + tg.pass}}
	if all {
		q.Set("subscribeAll", "true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, strings.Replace(tg.url, "http", "ws", 1)+"/events?"+q.Encode(), nil)
	if err != nil {
		cancel()
		t.Fatalf("websocket: %v", err)
	}
	c.SetReadLimit(1 << 22)
	ev := &events{cond: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, b, err := c.Read(ctx)
			ev.mu.Lock()
			if err != nil {
				ev.err = err
				ev.mu.Unlock()
				ev.signal()
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				ev.all = append(ev.all, m)
				ev.raw = append(ev.raw, b)
			}
			ev.mu.Unlock()
			ev.signal()
		}
	}()
	t.Cleanup(func() {
		if all && tg.sim == nil {
			// Asterisk 22 can deadlock its ARI when a WebSocket whose app is subscribed to all
			// device states closes while a device-state message for it is dispatched
			// (asterisk/asterisk#2170: unsubscribe_device_state joins under the session lock).
			// Dropping that subscription over REST first keeps the teardown off that path.
			for _, a := range strings.Split(app, ",") {
				tg.do(t, "DELETE", "/applications/"+a+"/subscription", url.Values{"eventSource": {"deviceState:"}}, nil)
			}
		}
		cancel()
		_ = c.CloseNow()
		<-done
	})
	// Registered once GET /applications/{app} answers 200.
	deadline := time.Now().Add(3 * time.Second)
	for {
		st, _ := tg.do(t, "GET", "/applications/"+strings.Split(app, ",")[0], nil, nil)
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app %s not registered", app)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ev
}

func (e *events) signal() {
	select {
	case e.cond <- struct{}{}:
	default:
	}
}

// wait returns the first event (from index 0) of type typ that satisfies match, or fails.
func (e *events) wait(t testing.TB, typ string, match func(map[string]any) bool, d time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		e.mu.Lock()
		for _, m := range e.all {
			if m["type"] == typ && (match == nil || match(m)) {
				e.mu.Unlock()
				return m
			}
		}
		err := e.err
		e.mu.Unlock()
		if err != nil {
			t.Fatalf("waiting for %s: websocket closed: %v", typ, err)
		}
		select {
		case <-e.cond:
		case <-deadline:
			t.Fatalf("no %s within %s; got %s", typ, d, e.types())
		}
	}
}

// closed waits until the WebSocket was closed by the server.
func (e *events) closed(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		e.mu.Lock()
		err := e.err
		e.mu.Unlock()
		if err != nil {
			return
		}
		select {
		case <-e.cond:
		case <-deadline:
			t.Fatalf("websocket still open after %s", d)
		}
	}
}

func (e *events) types() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.all {
		s, _ := m["type"].(string)
		if c, ok := m["channel"].(map[string]any); ok {
			s += "(" + fmt.Sprint(c["id"]) + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// seq returns "Type[@chanID]" for the events about the given channel ids (all when none), in order.
func (e *events) seq(ids ...string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.all {
		id := chanID(m)
		if len(ids) > 0 && !contains(ids, id) {
			continue
		}
		out = append(out, fmt.Sprint(m["type"])+"@"+id)
	}
	return out
}

func (e *events) count(typ string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, m := range e.all {
		if m["type"] == typ {
			n++
		}
	}
	return n
}

func chanID(m map[string]any) string {
	for _, k := range []string{"channel", "peer"} {
		if c, ok := m[k].(map[string]any); ok {
			return fmt.Sprint(c["id"])
		}
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func isChan(id string) func(map[string]any) bool {
	return func(m map[string]any) bool { return chanID(m) == id }
}

// uniq returns a fresh id with a prefix.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, appSeq.Add(1))
}

// originate starts Local/<ext>@callgw-test into app and waits for StasisStart (answering extensions).
func (tg *target) originate(t testing.TB, ev *events, app, ext string) string {
	t.Helper()
	id := uniq("c")
	tg.mustDo(t, 200, "POST", "/channels", url.Values{"endpoint": {"Local/" + ext + "@callgw-test"}, "app": {app}, "channelId": {id}}, nil)
	ev.wait(t, "StasisStart", isChan(id), 5*time.Second)
	return id
}

func newReq(method, u string) (*http.Request, error) { return http.NewRequest(method, u, nil) }

// index returns the position of the first event of type typ that satisfies match, or -1.
func (e *events) index(typ string, match func(map[string]any) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, m := range e.all {
		if m["type"] == typ && (match == nil || match(m)) {
			return i
		}
	}
	return -1
}

// none fails if an event of type typ (that satisfies match, when given) arrives within d.
func (e *events) none(t testing.TB, typ string, d time.Duration, match ...func(map[string]any) bool) {
	t.Helper()
	ok := func(m map[string]any) bool { return m["type"] == typ && (len(match) == 0 || match[0](m)) }
	e.mu.Lock()
	from := len(e.all)
	e.mu.Unlock()
	deadline := time.After(d)
	for {
		select {
		case <-e.cond:
		case <-deadline:
			return
		}
		e.mu.Lock()
		for _, m := range e.all[from:] {
			if ok(m) {
				e.mu.Unlock()
				t.Fatalf("unexpected %s within %s", typ, d)
			}
		}
		from = len(e.all)
		e.mu.Unlock()
	}
}

// cleanupReal hangs up the channels and destroys the bridges that the apps of this target (its app
// and the names derived from it) still hold on a real Asterisk. On a simulator the server goes
// away with the test; Asterisk keeps them, and Wait(3600) keeps a Local channel for an hour.
func (tg *target) cleanupReal(t testing.TB) {
	st, b := tg.do(t, "GET", "/applications", nil, nil)
	var apps []struct {
		Name       string   `json:"name"`
		ChannelIDs []string `json:"channel_ids"`
		BridgeIDs  []string `json:"bridge_ids"`
	}
	if st != 200 || json.Unmarshal(b, &apps) != nil {
		t.Logf("cleanup: GET /applications: %d %s", st, b)
		return
	}
	for _, a := range apps {
		// tg.app, or tg.app and a letter ("…raw", "…w"): callgwtest12 is not callgwtest1's.
		suffix, ok := strings.CutPrefix(a.Name, tg.app)
		if !ok || suffix != "" && (suffix[0] < 'a' || suffix[0] > 'z') {
			continue
		}
		for _, id := range a.ChannelIDs {
			tg.do(t, "DELETE", "/channels/"+url.PathEscape(id), nil, nil)
		}
		for _, id := range a.BridgeIDs {
			tg.do(t, "DELETE", "/bridges/"+url.PathEscape(id), nil, nil)
		}
	}
}
