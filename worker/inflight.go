package worker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/callgw/callgw/callapi"
)

// InFlight counts the commands running in the CommandHandler it wraps, so
// that a stopping worker announces node.down only once they have finished.
type InFlight struct {
	Next callapi.CommandHandler
	n    atomic.Int64
}

var _ callapi.CommandHandler = (*InFlight)(nil)

// Handle runs cmd on Next, counted.
func (f *InFlight) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	f.n.Add(1)
	defer f.n.Add(-1)
	return f.Next.Handle(ctx, cmd)
}

// Running is the number of commands running now.
func (f *InFlight) Running() int64 { return f.n.Load() }

// Wait returns true once no command runs, or false when ctx ends first.
func (f *InFlight) Wait(ctx context.Context) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for f.n.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
