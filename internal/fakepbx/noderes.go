package fakepbx

import (
	"context"

	"github.com/callgw/callgw/callapi"
)

// Full's NodeControl: every method notes its call and answers empty.

var _ callapi.NodeControl = (*Full)(nil)

func (p *Full) Endpoints(context.Context) ([]*callapi.Endpoint, error) {
	p.note("Endpoints")
	return nil, nil
}
func (p *Full) Endpoint(_ context.Context, name string) (*callapi.Endpoint, error) {
	p.note("Endpoint")
	return &callapi.Endpoint{Name: name}, nil
}
func (p *Full) DeviceStates(context.Context) ([]*callapi.DeviceState, error) {
	p.note("DeviceStates")
	return nil, nil
}
func (p *Full) DeviceState(_ context.Context, name string) (*callapi.DeviceState, error) {
	p.note("DeviceState")
	return &callapi.DeviceState{Name: name, State: "UNKNOWN"}, nil
}
func (p *Full) SetDeviceState(context.Context, string, string) error {
	p.note("SetDeviceState")
	return nil
}
func (p *Full) DeleteDeviceState(context.Context, string) error {
	p.note("DeleteDeviceState")
	return nil
}
func (p *Full) Mailboxes(context.Context) ([]*callapi.Mailbox, error) {
	p.note("Mailboxes")
	return nil, nil
}
func (p *Full) Mailbox(_ context.Context, name string) (*callapi.Mailbox, error) {
	p.note("Mailbox")
	return &callapi.Mailbox{Name: name}, nil
}
func (p *Full) SetMailbox(context.Context, callapi.Mailbox) error {
	p.note("SetMailbox")
	return nil
}
func (p *Full) DeleteMailbox(context.Context, string) error {
	p.note("DeleteMailbox")
	return nil
}
func (p *Full) GlobalVariable(context.Context, string) (string, error) {
	p.note("GlobalVariable")
	return "", nil
}
func (p *Full) SetGlobalVariable(context.Context, string, string) error {
	p.note("SetGlobalVariable")
	return nil
}
