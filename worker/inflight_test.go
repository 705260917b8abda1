package worker

import (
	"context"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// blockingHandler holds each command until release is closed.
type blockingHandler struct {
	started chan struct{}
	release chan struct{}
}

func (h *blockingHandler) Handle(_ context.Context, cmd *callapi.Command) *callapi.Reply {
	h.started <- struct{}{}
	<-h.release
	return callapi.OKReply(cmd.ID, "pbx1", nil)
}

// TestInFlight: Wait waits for the running commands, gives up with its
// context, and returns at once when none runs.
func TestInFlight(t *testing.T) {
	h := &blockingHandler{started: make(chan struct{}, 2), release: make(chan struct{})}
	f := &InFlight{Next: h}
	if !f.Wait(context.Background()) {
		t.Fatal("Wait with nothing running")
	}
	done := make(chan *callapi.Reply, 2)
	for _, id := range []string{"a", "b"} {
		go func() { done <- f.Handle(context.Background(), &callapi.Command{ID: id}) }()
	}
	<-h.started
	<-h.started
	if f.Running() != 2 {
		t.Fatalf("running %d, want 2", f.Running())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if f.Wait(ctx) {
		t.Fatal("Wait returned true while commands run")
	}
	close(h.release)
	for range 2 {
		if r := <-done; !r.OK {
			t.Fatalf("reply %+v", r)
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if !f.Wait(ctx2) || f.Running() != 0 {
		t.Fatalf("after the commands ended: running %d", f.Running())
	}
}
