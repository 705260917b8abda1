package restapi

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// TestHubConcurrent: publishers, subscribers that read, subscribers that
// never read and subscribers that come and go, all at once (run with -race).
func TestHubConcurrent(t *testing.T) {
	hub := NewHub(HubConfig{Buffer: 4, History: 32})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				hub.Publish(ev(fmt.Sprintf("p%d-%d", p, i), callapi.EvCallDTMF, "c1"))
			}
		}()
	}
	for range 4 { // readers until ctx ends
		ch, _, err := hub.Subscribe(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
			}
		}()
	}
	for range 4 { // stalled: dropped, never block the publishers
		if _, _, err := hub.Subscribe(ctx, EventFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 { // churn
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, unsub, err := hub.Subscribe(context.Background(), EventFilter{Types: []string{"call."}, LastEventID: "p0-1"})
				if err != nil {
					t.Error(err)
					return
				}
				unsub()
			}
		}()
	}
	done := make(chan struct{})
	go func() { // publishers and churners finish; then stop the readers
		defer close(done)
		for hub.Stats().Dropped < 4 {
			hub.Publish(ev("x", callapi.EvCallDTMF, "c1"))
		}
	}()
	<-done
	cancel()
	wg.Wait()
	testenv.WaitFor(t, "all unsubscribed", 5*time.Second, func() bool { return hub.Stats().Subscribers == 0 })
	if st := hub.Stats(); st.History != 32 {
		t.Errorf("stats %+v", st)
	}
}
