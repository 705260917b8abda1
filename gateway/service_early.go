package gateway

import (
	"context"

	"github.com/callgw/callgw/callapi"
)

// CreateCall creates a call without dialling it, on the named node or any
// live node (as an originate: createTarget); POST /v1/calls/{id}/dial
// (CallAction with callapi.ActCallDial) dials it.
func (s *Service) CreateCall(ctx context.Context, o Options, req callapi.CreateRequest) (*callapi.Call, error) {
	if err := req.Validate(s.Rules); err != nil {
		return nil, err
	}
	target, err := s.createTarget(req.Node)
	if err != nil {
		return nil, err
	}
	cmd, err := s.newCommand(o, callapi.ActCallCreate, req.CreateArgs)
	if err != nil {
		return nil, err
	}
	cmd.CallID = callapi.CallIDFor(cmd.ID)
	var call callapi.Call
	if _, err := s.send(ctx, target, cmd, Options{Tenant: o.Tenant}, &call); err != nil {
		return nil, err
	}
	s.Locations.Put(callKey(o.Tenant, call.ID), call.Node)
	return &call, nil
}

// SendMessage sends a text message from the named node or any live node.
func (s *Service) SendMessage(ctx context.Context, o Options, req callapi.MessageRequest) (*callapi.MessageSent, error) {
	if err := req.Validate(s.Rules); err != nil {
		return nil, err
	}
	target, err := s.createTarget(req.Node)
	if err != nil {
		return nil, err
	}
	cmd, err := s.newCommand(o, callapi.ActMessageSend, req.MessageArgs)
	if err != nil {
		return nil, err
	}
	var out callapi.MessageSent
	if _, err := s.send(ctx, target, cmd, Options{Tenant: o.Tenant}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
