package restapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

func ev(id string, typ callapi.EventType, call callapi.CallID) *callapi.Event {
	return &callapi.Event{ID: id, Type: typ, Node: "pbx1", Tenant: callapi.DefaultTenant, CallID: call, Time: time.Unix(1, 0).UTC()}
}

// sseReader reads SSE messages from a response body.
type sseReader struct{ sc *bufio.Scanner }

type sseMsg struct{ id, event, data string }

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &sseReader{sc: sc}
}

// next returns the next message with data (comments and retry skipped).
func (r *sseReader) next() (sseMsg, error) {
	var m sseMsg
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if m.data != "" {
				return m, nil
			}
		case strings.HasPrefix(line, "id: "):
			m.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			m.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			m.data = line[6:]
		}
	}
	if err := r.sc.Err(); err != nil {
		return m, err
	}
	return m, io.EOF
}

func openSSE(t *testing.T, url string, hdr ...string) (*http.Response, *sseReader) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return resp, newSSEReader(resp.Body)
}

func newStreamServer(t *testing.T, hub *Hub, cfg Config) *httptest.Server {
	t.Helper()
	// Not the test's logger: httptest.Server.Close does not wait for
	// hijacked (WebSocket) connections, whose handler may log its access
	// line after the test returned, which zaptest turns into a panic.
	cfg.Log = zap.NewNop()
	s := NewServer(cfg, nil, nil, hub, nil)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return ts
}

func TestSSEFilterAndResume(t *testing.T) {
	hub := NewHub(HubConfig{})
	ts := newStreamServer(t, hub, Config{})
	_, rd := openSSE(t, ts.URL+"/v1/events?call_id=c1&type=call.")
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })

	hub.Publish(ev("e1", callapi.EvCallCreated, "c1"))
	hub.Publish(ev("e2", callapi.EvCallCreated, "c2"))                          // other call
	hub.Publish(&callapi.Event{ID: "e3", Type: callapi.EvNodeUp, Node: "pbx1"}) // not call.
	other := ev("e4", callapi.EvCallAnswered, "c1")
	other.Tenant = "acme" // other tenant: never visible
	hub.Publish(other)
	hub.Publish(ev("e5", callapi.EvCallAnswered, "c1"))
	hub.Publish(ev("e6", callapi.EvCallHangup, "c1"))
	for _, want := range []string{"e1", "e5", "e6"} {
		m, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		var e callapi.Event
		if err := json.Unmarshal([]byte(m.data), &e); err != nil {
			t.Fatal(err)
		}
		if m.id != want || e.ID != want || e.CallID != "c1" {
			t.Fatalf("got %+v, want %s", m, want)
		}
	}

	// Resume after e1: e5 and e6 again, from the buffer.
	_, rd2 := openSSE(t, ts.URL+"/v1/events?call_id=c1", "Last-Event-ID", "e1")
	for _, want := range []string{"e5", "e6"} {
		if m, err := rd2.next(); err != nil || m.id != want {
			t.Fatalf("resume: %+v %v, want %s", m, err, want)
		}
	}
}

func TestSSEBadFilter(t *testing.T) {
	s := MustNewServer(t, Config{}, deps{events: NewHub(HubConfig{})})
	for _, q := range []string{"type=Call!", "node=a.b", "call_id=a%20b", "tag=", "colour=red"} {
		rec := do(t, s.Handler(), "GET", "/v1/events?"+q, "")
		if rec.Code != 400 {
			t.Errorf("%s: %d", q, rec.Code)
		}
	}
}

// closingEvents is an Events whose channel the test closes, as a hub does
// when it drops a slow subscriber.
type closingEvents struct{ c chan *callapi.Event }

func (e closingEvents) Subscribe(context.Context, EventFilter) (<-chan *callapi.Event, func(), error) {
	return e.c, func() {}, nil
}

func TestSSESlowConsumerNotice(t *testing.T) {
	evs := closingEvents{c: make(chan *callapi.Event, 1)}
	evs.c <- ev("e1", callapi.EvCallCreated, "c1")
	close(evs.c)
	s := MustNewServer(t, Config{}, deps{events: evs})
	rec := do(t, s.Handler(), "GET", "/v1/events", "")
	rd := newSSEReader(rec.Body)
	if m, err := rd.next(); err != nil || m.id != "e1" {
		t.Fatalf("first %+v %v", m, err)
	}
	m, err := rd.next()
	if err != nil || m.event != "error" || !strings.Contains(m.data, "slow_consumer") {
		t.Fatalf("notice %+v %v", m, err)
	}
}

// TestSlowClientDropped: a client that stops reading is disconnected while
// another keeps receiving, and the hub's buffered events stay bounded.
func TestSlowClientDropped(t *testing.T) {
	const buffer = 8
	hub := NewHub(HubConfig{Buffer: buffer, History: 16})
	ts := newStreamServer(t, hub, Config{StreamWriteTimeout: 200 * time.Millisecond})

	// The slow client: a raw connection that sends its request and never reads.
	d := net.Dialer{Control: nil}
	conn, err := d.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
	testenv.WaitFor(t, "slow subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })

	// The healthy client reads everything.
	_, rd := openSSE(t, ts.URL+"/v1/events")
	testenv.WaitFor(t, "both subscribers", 5*time.Second, func() bool { return hub.Stats().Subscribers == 2 })
	got := make(chan string, 16)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := rd.next()
			if err != nil {
				readErr <- err
				return
			}
			got <- m.id
		}
	}()

	big := json.RawMessage(`{"pad":"` + strings.Repeat("x", 32<<10) + `"}`)
	maxBuffered := 0
	i := 0
	publish := func() {
		t.Helper()
		i++
		e := ev(fmt.Sprintf("e%d", i), callapi.EvCallDTMF, "c1")
		e.Data = big
		hub.Publish(e)
		if b := hub.Stats().Buffered; b > maxBuffered {
			maxBuffered = b
		}
		select {
		case id := <-got:
			if id != e.ID {
				t.Fatalf("healthy client got %s, want %s", id, e.ID)
			}
		case err := <-readErr:
			t.Fatalf("healthy client: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("healthy client did not get %s", e.ID)
		}
	}
	for hub.Stats().Dropped == 0 {
		if i > 5000 {
			t.Fatal("slow client never dropped")
		}
		publish()
	}
	for range 20 { // the healthy client goes on
		publish()
	}
	if st := hub.Stats(); st.Subscribers != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
	if maxBuffered > 2*buffer {
		t.Errorf("hub buffered %d events, want at most %d", maxBuffered, 2*buffer)
	}
	t.Logf("slow client dropped after %d events of 32 KiB; max buffered %d", i-20, maxBuffered)
}

func TestWebSocketStream(t *testing.T) {
	hub := NewHub(HubConfig{})
	ts := newStreamServer(t, hub, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws?type=call.hangup", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	defer c.CloseNow()
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
	hub.Publish(ev("e1", callapi.EvCallCreated, "c1"))
	hub.Publish(ev("e2", callapi.EvCallHangup, "c1"))
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var e callapi.Event
	if err := json.Unmarshal(b, &e); err != nil || e.ID != "e2" {
		t.Fatalf("got %s %v", b, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	testenv.WaitFor(t, "unsubscribe", 5*time.Second, func() bool { return hub.Stats().Subscribers == 0 })
}

// TestShutdownEndsStreams: Run's ctx ending closes open SSE streams with a
// shutdown notice, and Serve returns in bounded time.
func TestShutdownEndsStreams(t *testing.T) {
	hub := NewHub(HubConfig{})
	s := MustNewServer(t, Config{Addr: "127.0.0.1:0", ShutdownTimeout: 3 * time.Second}, deps{events: hub})
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	_, rd := openSSE(t, "http://"+s.Addr().String()+"/v1/events")
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
	start := time.Now()
	cancel()
	m, err := rd.next()
	if err != nil || m.event != "shutdown" {
		t.Errorf("got %+v %v, want a shutdown notice", m, err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestHubTenantAndTypeFilter(t *testing.T) {
	for _, tc := range []struct {
		f    EventFilter
		e    *callapi.Event
		want bool
	}{
		{EventFilter{}, ev("1", callapi.EvCallCreated, "c"), true},
		{EventFilter{Tenant: "acme"}, ev("1", callapi.EvCallCreated, "c"), false},
		{EventFilter{Types: []string{"call."}}, ev("1", callapi.EvCallPlaybackStarted, "c"), true},
		{EventFilter{Types: []string{"call.*"}}, ev("1", callapi.EvCallHangup, "c"), true},
		{EventFilter{Types: []string{"call.playback."}}, ev("1", callapi.EvCallHangup, "c"), false},
		{EventFilter{Types: []string{"call.hangup"}}, ev("1", callapi.EvCallHangup, "c"), true},
		{EventFilter{Types: []string{"call.hang"}}, ev("1", callapi.EvCallHangup, "c"), false},
		{EventFilter{Types: []string{"node.", "call.hangup"}}, ev("1", callapi.EvCallHangup, "c"), true},
		{EventFilter{Node: "pbx2"}, ev("1", callapi.EvCallHangup, "c"), false},
		{EventFilter{Tag: "t"}, &callapi.Event{Tags: []string{"x", "t"}}, true},
		{EventFilter{Tag: "t"}, &callapi.Event{Tags: []string{"x"}}, false},
	} {
		if got := tc.f.Match(tc.e); got != tc.want {
			t.Errorf("%+v.Match(%s %v) = %v", tc.f, tc.e.Type, tc.e.Tags, got)
		}
	}
}

func TestHubHistoryBounded(t *testing.T) {
	hub := NewHub(HubConfig{History: 4, Buffer: 2})
	for i := range 10 {
		hub.Publish(ev(fmt.Sprint(i), callapi.EvCallCreated, "c"))
	}
	if st := hub.Stats(); st.History != 4 {
		t.Errorf("history %d", st.History)
	}
	// Resume from an id still buffered replays the rest; from an evicted one nothing.
	ch, unsub, err := hub.Subscribe(context.Background(), EventFilter{LastEventID: "7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || (<-ch).ID != "8" {
		t.Errorf("replay %d", len(ch))
	}
	unsub()
	unsub() // idempotent
	ch, unsub, _ = hub.Subscribe(context.Background(), EventFilter{LastEventID: "2"})
	if len(ch) != 1 || !IsResumeGap(<-ch) {
		t.Errorf("replay from evicted id: %d, want the resume-gap marker alone", len(ch))
	}
	unsub()

	// ctx end unsubscribes.
	ctx, cancel := context.WithCancel(context.Background())
	ch, _, _ = hub.Subscribe(ctx, EventFilter{})
	cancel()
	testenv.WaitFor(t, "ctx unsubscribe", 5*time.Second, func() bool { return hub.Stats().Subscribers == 0 })
	if _, ok := <-ch; ok {
		t.Error("channel open after ctx end")
	}
	hub.Close()
	if _, _, err := hub.Subscribe(context.Background(), EventFilter{}); err != ErrHubClosed {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

// TestSSEOutlivesReadTimeout: http.Server.ReadTimeout (Config.RequestTimeout)
// must not cut a long-lived stream.
func TestSSEOutlivesReadTimeout(t *testing.T) {
	hub := NewHub(HubConfig{})
	s := MustNewServer(t, Config{Addr: "127.0.0.1:0", RequestTimeout: 100 * time.Millisecond}, deps{events: hub})
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-errc
		http.DefaultClient.CloseIdleConnections()
	}()
	_, rd := openSSE(t, "http://"+s.Addr().String()+"/v1/events")
	testenv.WaitFor(t, "subscriber", 5*time.Second, func() bool { return hub.Stats().Subscribers == 1 })
	time.Sleep(400 * time.Millisecond)
	hub.Publish(ev("late", callapi.EvCallCreated, "c1"))
	if m, err := rd.next(); err != nil || m.id != "late" {
		t.Fatalf("got %+v %v", m, err)
	}
}

// TestWebSocketSlowClientDropped: a WebSocket client that stops reading is
// dropped while an SSE client of the same hub keeps receiving.
func TestWebSocketSlowClientDropped(t *testing.T) {
	hub := NewHub(HubConfig{Buffer: 4, History: 8})
	ts := newStreamServer(t, hub, Config{StreamWriteTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/v1/events/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	defer c.CloseNow()
	_, rd := openSSE(t, ts.URL+"/v1/events")
	testenv.WaitFor(t, "subscribers", 5*time.Second, func() bool { return hub.Stats().Subscribers == 2 })
	got := make(chan string, 4)
	go func() {
		for {
			m, err := rd.next()
			if err != nil {
				close(got)
				return
			}
			got <- m.id
		}
	}()
	big := json.RawMessage(`{"pad":"` + strings.Repeat("x", 32<<10) + `"}`)
	for i := 0; hub.Stats().Dropped == 0; i++ {
		if i > 5000 {
			t.Fatal("slow WebSocket client never dropped")
		}
		e := ev(fmt.Sprint(i), callapi.EvCallDTMF, "c1")
		e.Data = big
		hub.Publish(e)
		if id := <-got; id != e.ID {
			t.Fatalf("SSE client got %q, want %s", id, e.ID)
		}
	}
	hub.Publish(ev("after", callapi.EvCallHangup, "c1"))
	if id := <-got; id != "after" {
		t.Fatalf("SSE client got %q after the drop", id)
	}
	if st := hub.Stats(); st.Subscribers != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
}
