package worker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// infoPBX answers Info only (the announcer needs nothing else).
type infoPBX struct{ callapi.PBX }

func (infoPBX) Info(context.Context) (callapi.PBXInfo, error) {
	return callapi.PBXInfo{Healthy: true, App: "callgw"}, nil
}

// beats records the time of every heartbeat published.
type beats struct {
	mu sync.Mutex
	at []time.Time
}

func (b *beats) PublishHeartbeat(_ context.Context, _ *callapi.Heartbeat) error {
	b.mu.Lock()
	b.at = append(b.at, time.Now())
	b.mu.Unlock()
	return nil
}

func (b *beats) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.at)
}

func (b *beats) waitFor(t *testing.T, n int, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for b.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d beats after %v, want %d", b.count(), within, n)
		}
		time.Sleep(time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.at[n-1]
}

// BeatNow beats out of schedule at once (a gateway's ping is answered in
// milliseconds, not at the next interval), and a storm of requests is
// rate-limited to one beat per MinGap.
func TestAnnouncerBeatNow(t *testing.T) {
	sink := &beats{}
	a := NewAnnouncer("pbx1", infoPBX{}, sink, time.Hour, 1) // no scheduled beat but the first
	a.MinGap = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	first := sink.waitFor(t, 1, 5*time.Second)
	time.Sleep(2 * a.MinGap) // past the gap: the next request is answered at once
	asked := time.Now()
	a.BeatNow()
	at := sink.waitFor(t, 2, 5*time.Second)
	if d := at.Sub(asked); d > 40*time.Millisecond {
		t.Errorf("BeatNow answered after %v, want at once", d)
	}
	if at.Sub(first) < a.MinGap {
		t.Errorf("beats %v apart, want >= MinGap", at.Sub(first))
	}
	// A storm: 1,000 requests over 300 ms make at most 300/50 + 1 beats,
	// each MinGap after the previous one, and the last request is answered.
	start := sink.count()
	end := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(end) {
		a.BeatNow()
		time.Sleep(300 * time.Microsecond)
	}
	last := time.Now()
	sink.waitFor(t, start+1, time.Second)
	time.Sleep(3 * a.MinGap)
	n := sink.count() - start
	if n > 300/50+2 {
		t.Errorf("%d beats for a storm of requests over 300ms, want <= %d", n, 300/50+2)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i := start; i < len(sink.at); i++ {
		if gap := sink.at[i].Sub(sink.at[i-1]); gap < a.MinGap-5*time.Millisecond {
			t.Errorf("beats %d and %d %v apart, want >= %v", i-1, i, gap, a.MinGap)
		}
	}
	if sink.at[len(sink.at)-1].Before(last.Add(-a.MinGap)) {
		t.Errorf("the storm's last request was not answered: last beat %v before it", last.Sub(sink.at[len(sink.at)-1]))
	}
}
