package fakepbx

import (
	"context"

	"github.com/callgw/callgw/callapi"
)

var (
	_ callapi.DialControl    = (*Full)(nil)
	_ callapi.MessageControl = (*Full)(nil)
)

func (p *Full) Create(_ context.Context, tenant string, id callapi.CallID, a callapi.CreateArgs) (*callapi.Call, error) {
	p.note("Create")
	return &callapi.Call{ID: id, Tenant: tenant, To: a.To, State: callapi.StateDown}, nil
}

func (p *Full) Dial(context.Context, string, callapi.CallID, callapi.DialArgs) error {
	p.note("Dial")
	return nil
}

func (p *Full) SendMessage(context.Context, string, callapi.MessageArgs) error {
	p.note("SendMessage")
	return nil
}
