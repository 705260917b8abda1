package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/fakepbx"
	"github.com/callgw/callgw/worker"
)

// mailboxPBX holds one mailbox.
type mailboxPBX struct {
	*fakepbx.Full
	name string
}

func (p *mailboxPBX) Mailbox(_ context.Context, name string) (*callapi.Mailbox, error) {
	if name != p.name {
		return nil, callapi.Errorf(callapi.CodeNotFound, "mailbox %s not found", name)
	}
	return &callapi.Mailbox{Name: name, NewMessages: 1}, nil
}

// TestNodeResourceBroadcast: without a node, a read answers from the
// first node that has the name (a node without node resources holds none:
// its not_implemented does not hide another's not_found), a change must be
// taken by every live node (503 naming a silent one), the caller's scope
// rides in the command (none: not_found), and a non node resource action
// is refused.
func TestNodeResourceBroadcast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	execs := map[callapi.NodeID]*worker.Executor{
		"pbx1": {Node: "pbx1", PBX: fakepbx.NewBasic()},
		"pbx2": {Node: "pbx2", PBX: &mailboxPBX{Full: fakepbx.NewFull(), name: "1@acme"}},
	}
	reg := NewRegistry()
	for _, n := range []callapi.NodeID{"pbx1", "pbx2", "pbx3"} { // pbx3 is live and answers nothing
		reg.Observe(callapi.Heartbeat{Node: n, State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	}
	s := NewService(&loopBus{nodes: execs}, reg, NewLocations(0))
	o := Options{Tenant: "acme", Scope: &callapi.NameScope{Mailboxes: []string{"*@acme"}}}

	var m callapi.Mailbox
	if err := s.NodeResource(ctx, o, "", callapi.ActMailboxGet, &callapi.NodeNameArgs{Name: "1@acme"}, &m); err != nil || m.Node != "pbx2" || m.NewMessages != 1 {
		t.Errorf("read: %+v %v", m, err)
	}
	if err := s.NodeResource(ctx, o, "", callapi.ActMailboxGet, &callapi.NodeNameArgs{Name: "2@acme"}, &m); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("read of a missing mailbox: %v, want not_found", err)
	}
	if err := s.NodeResource(ctx, Options{Tenant: "acme"}, "", callapi.ActMailboxGet, &callapi.NodeNameArgs{Name: "1@acme"}, &m); callapi.ErrorCode(err) != callapi.CodeNotFound {
		t.Errorf("read without a scope: %v, want not_found", err)
	}
	err := s.NodeResource(ctx, o, "", callapi.ActMailboxSet, &callapi.MailboxArgs{Name: "1@acme", NewMessages: 2}, nil)
	if callapi.ErrorCode(err) != callapi.CodeNodeUnavailable || !strings.Contains(err.Error(), "pbx3") || strings.Contains(err.Error(), "pbx1") {
		t.Errorf("change with a silent node: %v, want node_unavailable naming pbx3 only", err)
	}
	if err := s.NodeResource(ctx, o, "pbx2", callapi.ActMailboxSet, &callapi.MailboxArgs{Name: "1@acme", NewMessages: 2}, nil); err != nil {
		t.Errorf("change on pbx2: %v", err)
	}
	if err := s.NodeResource(ctx, o, "", callapi.ActCallGet, &callapi.NodeNameArgs{Name: "x"}, nil); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("call.get as a node resource: %v", err)
	}
	if err := s.NodeResource(ctx, o, "", callapi.ActMailboxSet, &callapi.MailboxArgs{Name: "1@acme", NewMessages: -1}, nil); callapi.ErrorCode(err) != callapi.CodeInvalidArgument {
		t.Errorf("bad counts: %v", err)
	}
	var l []string
	missing, err := s.NodeResourceList(ctx, o, "", callapi.ActMailboxList, func(r *callapi.Reply) error {
		l = append(l, string(r.Node))
		return nil
	})
	if err != nil || len(l) != 1 || l[0] != "pbx2" || len(missing) != 1 || missing[0] != "pbx3" {
		t.Errorf("listing: from %v, missing %v, %v", l, missing, err)
	}
}
