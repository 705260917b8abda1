package asterisk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

func TestPlacer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		held     int           // places taken before the call
		lastWait time.Duration // how long the last originate given a place waited
		timeout  time.Duration
		freeIn   time.Duration // a place is released after this (0: never)
		want     callapi.Code  // "" : a place
		saying   string
	}{
		{name: "a free place", held: 1, timeout: time.Second},
		{name: "a free place while the queue stood", held: 1, lastWait: time.Second, timeout: time.Second},
		{name: "waits its turn", held: 2, timeout: 5 * time.Second, freeIn: 20 * time.Millisecond},
		{name: "deadline first: not placed", held: 2, timeout: 30 * time.Millisecond,
			want: callapi.CodeNodeUnavailable, saying: "placing other calls until the deadline"},
		{name: "standing queue: refused at once", held: 2, lastWait: time.Second, timeout: 5 * time.Second, freeIn: time.Second,
			want: callapi.CodeNodeUnavailable, saying: "busy placing other calls (the last one waited 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := newPlacer(2, 250*time.Millisecond)
			for range tc.held {
				if err := pl.acquire(context.Background(), "held"); err != nil {
					t.Fatal(err)
				}
			}
			pl.gave(tc.lastWait)
			if tc.freeIn > 0 {
				tm := time.AfterFunc(tc.freeIn, pl.release)
				defer tm.Stop()
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			err := pl.acquire(ctx, "c1")
			took := time.Since(start)
			if callapi.ErrorCode(err) != tc.want || (err == nil) != (tc.want == "") {
				t.Fatalf("acquire: %v, want %q", err, tc.want)
			}
			if err != nil {
				if !strings.Contains(callapi.ErrorMessage(err), tc.saying) || !strings.Contains(callapi.ErrorMessage(err), "c1 was not placed") {
					t.Errorf("message %q, want it to say %q and that c1 was not placed", callapi.ErrorMessage(err), tc.saying)
				}
				if tc.lastWait > 0 && took > 100*time.Millisecond {
					t.Errorf("refused after %v, want at once", took)
				}
				return
			}
			if tc.freeIn > 0 && took < tc.freeIn/2 {
				t.Errorf("placed after %v, before a place was free (%v)", took, tc.freeIn)
			}
		})
	}
}

// TestPlacerTurnsAndRecovery: waiting originates get their places in
// arrival order; once one waited past maxWait, new ones are refused until
// a place is given at once again.
func TestPlacerTurnsAndRecovery(t *testing.T) {
	pl := newPlacer(1, 10*time.Millisecond)
	ctx := context.Background()
	if err := pl.acquire(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	for i := range 3 {
		go func() { // ends once placed (the test releases every place)
			if err := pl.acquire(ctx, "waiting"); err != nil {
				t.Error(err)
				return
			}
			order <- i
		}()
		time.Sleep(20 * time.Millisecond) // arrive in order
	}
	for want := range 3 {
		time.Sleep(30 * time.Millisecond) // each waits past maxWait
		pl.release()
		if got := <-order; got != want {
			t.Fatalf("place %d went to waiter %d", want, got)
		}
	}
	// The last one waited past maxWait and still holds its place: the
	// queue stands, a newcomer is refused at once.
	if err := pl.acquire(ctx, "late"); callapi.ErrorCode(err) != callapi.CodeNodeUnavailable {
		t.Fatalf("while standing: %v, want node_unavailable", err)
	}
	pl.release()
	if err := pl.acquire(ctx, "next"); err != nil {
		t.Fatalf("with a free place: %v", err)
	}
	pl.release()
}
