package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// silentBus never replies: Request fails as amqpbus does when the
// deadline passes, naming the target it published to.
type silentBus struct{ namingBus }

func (b *silentBus) Request(ctx context.Context, target callapi.Target, _ *callapi.Command) (*callapi.Reply, error) {
	<-ctx.Done()
	return nil, callapi.Wrap(callapi.CodeTimeout, "amqpbus.Request", ctx.Err(), "no reply from "+string(target)+" before the deadline")
}

func TestRingTime(t *testing.T) {
	for _, tc := range []struct {
		timeout int
		want    time.Duration
	}{{0, 30 * time.Second}, {12, 12 * time.Second}, {45, 45 * time.Second}, {600, 10 * time.Minute}} {
		if got := RingTime(callapi.OriginateArgs{Timeout: tc.timeout}); got != tc.want {
			t.Errorf("RingTime(timeout %d) = %s, want %s", tc.timeout, got, tc.want)
		}
	}
}

// TestTimeoutNamesNoQueue: a command without a reply before its deadline
// fails with timeout, and the message speaks of nodes and of the call,
// never of the bus's internal queue names ("any", "all").
func TestTimeoutNamesNoQueue(t *testing.T) {
	reg := NewRegistry()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	s := NewService(&silentBus{}, reg, NewLocations(0))
	for _, tc := range []struct {
		name string
		req  callapi.OriginateRequest
		want string
	}{
		{"wait none", callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/ring@callgw-test"}}, "no node"},
		{"wait answered", callapi.OriginateRequest{OriginateArgs: callapi.OriginateArgs{To: "Local/ring@callgw-test", Wait: callapi.WaitAnswered}}, "not answered before the deadline"},
		{"named node", callapi.OriginateRequest{Node: "pbx1", OriginateArgs: callapi.OriginateArgs{To: "Local/ring@callgw-test"}}, "node pbx1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, _, err := s.Originate(ctx, Options{Tenant: callapi.DefaultTenant}, tc.req)
			msg := callapi.ErrorMessage(err)
			if callapi.ErrorCode(err) != callapi.CodeTimeout || !strings.Contains(msg, tc.want) {
				t.Fatalf("err = %v (message %q), want timeout saying %q", err, msg, tc.want)
			}
			for _, internal := range []string{" any ", " all ", "amqp"} {
				if strings.Contains(" "+msg+" ", internal) {
					t.Errorf("message %q names %q", msg, internal)
				}
			}
		})
	}
}
