package restapi

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
)

// fakeSource is an EventSource that counts its open subscriptions and
// lets the test deliver events to the open one.
type fakeSource struct {
	mu     sync.Mutex
	opened int
	open   int
	handle func(*callapi.Event)
	fail   error
}

type closer func() error

func (c closer) Close() error { return c() }

func (s *fakeSource) subscribe(_ context.Context, h func(*callapi.Event)) (io.Closer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	s.opened++
	s.open++
	s.handle = h
	var once sync.Once
	return closer(func() error {
		once.Do(func() { s.mu.Lock(); s.open--; s.handle = nil; s.mu.Unlock() })
		return nil
	}), nil
}

func (s *fakeSource) state() (opened, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, s.open
}

func (s *fakeSource) deliver(e *callapi.Event) {
	s.mu.Lock()
	h := s.handle
	s.mu.Unlock()
	if h != nil {
		h(e)
	}
}

// TestFeedRefCounted: the first stream opens the one bus subscription,
// later ones share it; it stays for the linger after the last stream ended
// (a stream opened meanwhile keeps it) and then closes; every event goes
// to the streams; Close ends it for good.
func TestFeedRefCounted(t *testing.T) {
	src := &fakeSource{}
	hub := NewHub(HubConfig{Log: zaptest.NewLogger(t)})
	defer hub.Close()
	f := NewFeed(hub, src.subscribe, 50*time.Millisecond, zaptest.NewLogger(t))
	ctx := context.Background()

	if f.Subscribed() {
		t.Fatal("subscribed before any stream")
	}
	ch1, cancel1, err := f.Subscribe(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	_, cancel2, err := f.Subscribe(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if opened, open := src.state(); opened != 1 || open != 1 {
		t.Fatalf("two streams: %d subscriptions opened, %d open; want 1, 1", opened, open)
	}
	src.deliver(&callapi.Event{ID: "e1", Type: callapi.EvCallCreated, Tenant: callapi.DefaultTenant, CallID: "c1"})
	select {
	case e := <-ch1:
		if e.ID != "e1" {
			t.Fatalf("stream got %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not get the event")
	}

	cancel1()
	cancel1() // twice is harmless
	cancel2()
	if !f.Subscribed() {
		t.Fatal("let go at once, without the linger")
	}
	// A stream within the linger keeps the subscription.
	_, cancel3, err := f.Subscribe(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if opened, open := src.state(); opened != 1 || open != 1 {
		t.Fatalf("resumed within the linger: %d opened, %d open", opened, open)
	}
	cancel3()
	deadline := time.Now().Add(5 * time.Second)
	for f.Subscribed() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, open := src.state(); open != 0 || f.Subscribed() {
		t.Fatal("the subscription outlived the linger")
	}
	// A stream ended by its context releases too.
	sctx, stop := context.WithCancel(ctx)
	if _, _, err := f.Subscribe(sctx, EventFilter{}); err != nil {
		t.Fatal(err)
	}
	stop()
	f.Close()
	if _, open := src.state(); open != 0 {
		t.Fatal("Close left the subscription open")
	}
	if _, _, err := f.Subscribe(ctx, EventFilter{}); !errors.Is(err, ErrHubClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestFeedSourceFails: a subscription that cannot open fails the stream
// and leaves nothing counted.
func TestFeedSourceFails(t *testing.T) {
	src := &fakeSource{fail: callapi.Errorf(callapi.CodeNodeUnavailable, "broker away")}
	hub := NewHub(HubConfig{Log: zaptest.NewLogger(t)})
	defer hub.Close()
	f := NewFeed(hub, src.subscribe, time.Millisecond, nil)
	if _, _, err := f.Subscribe(context.Background(), EventFilter{}); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("err %v", err)
	}
	src.mu.Lock()
	src.fail = nil
	src.mu.Unlock()
	_, cancel, err := f.Subscribe(context.Background(), EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if f.users != 0 {
		t.Fatalf("%d users after the only stream ended", f.users)
	}
}
