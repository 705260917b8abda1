package callapi

import (
	"context"
	"strings"
)

// nodeSpecs are the actions on node resources (NodeControl). Each filters
// by the NameScope its arguments carry (noderes.go): a name outside it is
// not_found, a listing leaves it out. The gateway puts the caller's scope
// into the arguments (its tenant's, from the tenants file; every name for
// an admin) and sends a listing to every live node, a read or change to the
// node the request names or to every live node (gateway/service_noderes.go).
var nodeSpecs = []*Spec{
	def(Spec{Action: ActEndpointList, Port: PortNodeRes, REST: []string{"GET /v1/endpoints"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeListArgs) (EndpointList, error) {
			l, err := p.Resources.Endpoints(ctx)
			l = filterScope(l, a.Scope, KindEndpoint, func(e *Endpoint) string { return e.Name })
			return EndpointList{Endpoints: nodeOf(l, p.Node, func(e *Endpoint) *NodeID { return &e.Node })}, err
		}),
	def(Spec{Action: ActEndpointGet, Port: PortNodeRes, REST: []string{"GET /v1/endpoints/{tech}/{resource}"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeNameArgs) (*Endpoint, error) {
			if strings.Count(a.Name, "/") != 1 {
				return nil, Invalid("name", "%q is not an endpoint name: technology/resource (PJSIP/alice)", a.Name)
			}
			if err := inScope(a.Scope, KindEndpoint, a.Name); err != nil {
				return nil, err
			}
			e, err := p.Resources.Endpoint(ctx, a.Name)
			if e != nil {
				e.Node = p.Node
			}
			return e, err
		}),
	def(Spec{Action: ActDeviceStateList, Port: PortNodeRes, REST: []string{"GET /v1/device-states"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeListArgs) (DeviceStateList, error) {
			l, err := p.Resources.DeviceStates(ctx)
			l = filterScope(l, a.Scope, KindDeviceState, func(d *DeviceState) string { return d.Name })
			return DeviceStateList{DeviceStates: nodeOf(l, p.Node, func(d *DeviceState) *NodeID { return &d.Node })}, err
		}),
	def(Spec{Action: ActDeviceStateGet, Port: PortNodeRes, REST: []string{"GET /v1/device-states/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeNameArgs) (*DeviceState, error) {
			if err := inScope(a.Scope, KindDeviceState, a.Name); err != nil {
				return nil, err
			}
			d, err := p.Resources.DeviceState(ctx, a.Name)
			if d != nil {
				d.Node = p.Node
			}
			return d, err
		}),
	def(Spec{Action: ActDeviceStateSet, Port: PortNodeRes, REST: []string{"PUT /v1/device-states/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *DeviceStateArgs) (none, error) {
			if err := inScope(a.Scope, KindDeviceState, a.Name); err != nil {
				return none{}, err
			}
			return none{}, p.Resources.SetDeviceState(ctx, a.Name, a.State)
		}),
	def(Spec{Action: ActDeviceStateDel, Port: PortNodeRes, REST: []string{"DELETE /v1/device-states/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeNameArgs) (none, error) {
			if err := inScope(a.Scope, KindDeviceState, a.Name); err != nil {
				return none{}, err
			}
			return none{}, p.Resources.DeleteDeviceState(ctx, a.Name)
		}),
	def(Spec{Action: ActMailboxList, Port: PortNodeRes, REST: []string{"GET /v1/mailboxes"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeListArgs) (MailboxList, error) {
			l, err := p.Resources.Mailboxes(ctx)
			l = filterScope(l, a.Scope, KindMailbox, func(m *Mailbox) string { return m.Name })
			return MailboxList{Mailboxes: nodeOf(l, p.Node, func(m *Mailbox) *NodeID { return &m.Node })}, err
		}),
	def(Spec{Action: ActMailboxGet, Port: PortNodeRes, REST: []string{"GET /v1/mailboxes/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeNameArgs) (*Mailbox, error) {
			if err := inScope(a.Scope, KindMailbox, a.Name); err != nil {
				return nil, err
			}
			m, err := p.Resources.Mailbox(ctx, a.Name)
			if m != nil {
				m.Node = p.Node
			}
			return m, err
		}),
	def(Spec{Action: ActMailboxSet, Port: PortNodeRes, REST: []string{"PUT /v1/mailboxes/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *MailboxArgs) (none, error) {
			if err := inScope(a.Scope, KindMailbox, a.Name); err != nil {
				return none{}, err
			}
			return none{}, p.Resources.SetMailbox(ctx, Mailbox{Name: a.Name, OldMessages: a.OldMessages, NewMessages: a.NewMessages})
		}),
	def(Spec{Action: ActMailboxDelete, Port: PortNodeRes, REST: []string{"DELETE /v1/mailboxes/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *NodeNameArgs) (none, error) {
			if err := inScope(a.Scope, KindMailbox, a.Name); err != nil {
				return none{}, err
			}
			return none{}, p.Resources.DeleteMailbox(ctx, a.Name)
		}),
	def(Spec{Action: ActGlobalVarGet, Port: PortNodeRes, REST: []string{"GET /v1/globals/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *GlobalVarArgs) (Variable, error) {
			if err := inScope(a.Scope, KindVariable, a.Name); err != nil {
				return Variable{}, err
			}
			v, err := p.Resources.GlobalVariable(ctx, a.Name)
			return Variable{Name: a.Name, Value: v}, err
		}),
	def(Spec{Action: ActGlobalVarSet, Port: PortNodeRes, REST: []string{"PUT /v1/globals/{name}"}},
		func(ctx context.Context, p Ports, _ *Command, a *GlobalVarArgs) (none, error) {
			if err := inScope(a.Scope, KindVariable, a.Name); err != nil {
				return none{}, err
			}
			return none{}, p.Resources.SetGlobalVariable(ctx, a.Name, a.Value)
		}),
}

// nodeOf stamps the node on every item of l (never nil).
func nodeOf[T any](l []T, n NodeID, node func(T) *NodeID) []T {
	if l == nil {
		return []T{}
	}
	for _, x := range l {
		*node(x) = n
	}
	return l
}
