package restapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
)

// Node resources over REST: GET /v1/endpoints[/{tech}/{resource}],
// /v1/device-states[/{name}] (GET, PUT, DELETE), /v1/mailboxes[/{name}]
// (GET, PUT, DELETE) and /v1/globals/{name} (GET, PUT). A name with a
// slash (a device PJSIP/alice) is written escaped in the path
// (PJSIP%2Falice). Each takes ?node= to address one node; without it a
// listing covers every live node, a read answers from the first node (in
// node order) that has the name, a change is made on every live node
// (gateway.Service.NodeResource). What the caller sees is its NameScope:
// every name for an admin token, its tenant's patterns (Config.Tenants)
// otherwise, none for a tenant without patterns: a name outside it is 404
// and missing from listings.

// NodeResources is what the node resource routes need. *gateway.Service
// implements it; a Calls without it answers them 503.
type NodeResources interface {
	NodeResourceList(ctx context.Context, o gateway.Options, node callapi.NodeID, a callapi.Action, each func(*callapi.Reply) error) ([]callapi.NodeID, error)
	NodeResource(ctx context.Context, o gateway.Options, node callapi.NodeID, a callapi.Action, args callapi.Scoped, out any) error
}

var _ NodeResources = (*gateway.Service)(nil)

// nameScope is the node resources principal p may see and change.
func (s *Server) nameScope(p Principal) *callapi.NameScope {
	if p.Has(ScopeAdmin) {
		return &callapi.NameScope{All: true}
	}
	return s.cfg.Tenants.Of(p.Tenant)
}

// nodeBegin is begin for the node resource routes (?node= allowed) with
// the caller's scope; it returns the node asked for.
func (s *Server) nodeBegin(r *http.Request) (gateway.Options, callapi.NodeID, context.Context, context.CancelFunc, error) {
	o, ctx, cancel, err := s.begin(r, false, "node")
	if err != nil {
		return o, "", nil, nil, err
	}
	o.Scope = s.nameScope(principalOf(r.Context()))
	node := callapi.NodeID(r.URL.Query().Get("node"))
	if _, given := r.URL.Query()["node"]; given && !callapi.ValidNodeID(string(node)) {
		cancel()
		return o, "", nil, nil, callapi.Invalid("node", "%q is not a valid node id", node)
	}
	return o, node, ctx, cancel, nil
}

// listKeys are the member of each listing's body holding its items.
var listKeys = map[callapi.Action]string{
	callapi.ActEndpointList:    "endpoints",
	callapi.ActDeviceStateList: "device_states",
	callapi.ActMailboxList:     "mailboxes",
}

// nodeList serves a listing: {"<items>": [...], "missing_nodes": [...]},
// the items of every node, each with its node, by node then name.
func (s *Server) nodeList(a callapi.Action) http.HandlerFunc {
	key := listKeys[a]
	return func(w http.ResponseWriter, r *http.Request) {
		o, node, ctx, cancel, err := s.nodeBegin(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer cancel()
		type item struct {
			raw        json.RawMessage
			node, name string
		}
		var items []item
		missing, err := s.noderes.NodeResourceList(ctx, o, node, a, func(rep *callapi.Reply) error {
			var m map[string][]json.RawMessage
			if err := rep.Decode(&m); err != nil {
				return err
			}
			for _, raw := range m[key] {
				var k struct{ Node, Name string }
				if err := json.Unmarshal(raw, &k); err != nil {
					return err
				}
				items = append(items, item{raw, k.Node, k.Name})
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].node != items[j].node {
				return items[i].node < items[j].node
			}
			return items[i].name < items[j].name
		})
		out := make([]json.RawMessage, 0, len(items))
		for _, it := range items {
			out = append(out, it.raw)
		}
		if missing == nil {
			missing = []callapi.NodeID{}
		}
		writeJSON(w, http.StatusOK, map[string]any{key: out, "missing_nodes": missing})
	}
}

// pathName is the {name} path parameter, unescaped (PJSIP%2Falice is
// PJSIP/alice).
func pathName(r *http.Request) (string, error) {
	raw := chi.URLParam(r, "name")
	n, err := url.PathUnescape(raw)
	if err != nil {
		return "", callapi.Invalid("name", "%q is not a valid escaped name", raw)
	}
	return n, nil
}

// endpointName is technology/resource from the path.
func endpointName(r *http.Request) (string, error) {
	tech, err1 := url.PathUnescape(chi.URLParam(r, "tech"))
	res, err2 := url.PathUnescape(chi.URLParam(r, "resource"))
	if err1 != nil || err2 != nil {
		return "", callapi.Invalid("name", "not a valid escaped endpoint name")
	}
	return tech + "/" + res, nil
}

// nodeOne serves a read or change of one named resource: args builds the
// action's arguments from the name and the body; out is the result (nil:
// 204).
func (s *Server) nodeOne(a callapi.Action, nameOf func(*http.Request) (string, error),
	args func(name string, body io.Reader) (callapi.Scoped, error), out func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, node, ctx, cancel, err := s.nodeBegin(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer cancel()
		name, err := nameOf(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		x, err := args(name, s.limitBody(w, r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res := out()
		if err := s.noderes.NodeResource(ctx, o, node, a, x, res); err != nil {
			s.fail(w, r, err)
			return
		}
		if res == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

func nameArgs(name string, _ io.Reader) (callapi.Scoped, error) {
	return &callapi.NodeNameArgs{Name: name}, nil
}

// deviceStateBody is the body of PUT /v1/device-states/{name}.
type deviceStateBody struct {
	State string `json:"state"`
}

func deviceStateArgs(name string, body io.Reader) (callapi.Scoped, error) {
	var b deviceStateBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return &callapi.DeviceStateArgs{Name: name, State: b.State}, nil
}

// mailboxBody is the body of PUT /v1/mailboxes/{name}.
type mailboxBody struct {
	OldMessages int `json:"old_messages"`
	NewMessages int `json:"new_messages"`
}

func mailboxArgs(name string, body io.Reader) (callapi.Scoped, error) {
	var b mailboxBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return &callapi.MailboxArgs{Name: name, OldMessages: b.OldMessages, NewMessages: b.NewMessages}, nil
}

// globalBody is the body of PUT /v1/globals/{name}.
type globalBody struct {
	Value string `json:"value"`
}

func globalGetArgs(name string, _ io.Reader) (callapi.Scoped, error) {
	return &callapi.GlobalVarArgs{VariableArgs: callapi.VariableArgs{Name: name}}, nil
}

func globalSetArgs(name string, body io.Reader) (callapi.Scoped, error) {
	var b globalBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return &callapi.GlobalVarArgs{VariableArgs: callapi.VariableArgs{Name: name, Value: b.Value}}, nil
}

func newEndpoint() any    { return &callapi.Endpoint{} }
func newDeviceState() any { return &callapi.DeviceState{} }
func newMailbox() any     { return &callapi.Mailbox{} }
func newVariable() any    { return &callapi.Variable{} }

// nodeResourceHandlers are the node resource routes' handlers, for
// actionHandlers.
func (s *Server) nodeResourceHandlers() map[callapi.Action][]http.HandlerFunc {
	return map[callapi.Action][]http.HandlerFunc{
		callapi.ActEndpointList:    {s.nodeList(callapi.ActEndpointList)},
		callapi.ActEndpointGet:     {s.nodeOne(callapi.ActEndpointGet, endpointName, nameArgs, newEndpoint)},
		callapi.ActDeviceStateList: {s.nodeList(callapi.ActDeviceStateList)},
		callapi.ActDeviceStateGet:  {s.nodeOne(callapi.ActDeviceStateGet, pathName, nameArgs, newDeviceState)},
		callapi.ActDeviceStateSet:  {s.nodeOne(callapi.ActDeviceStateSet, pathName, deviceStateArgs, noResult)},
		callapi.ActDeviceStateDel:  {s.nodeOne(callapi.ActDeviceStateDel, pathName, nameArgs, noResult)},
		callapi.ActMailboxList:     {s.nodeList(callapi.ActMailboxList)},
		callapi.ActMailboxGet:      {s.nodeOne(callapi.ActMailboxGet, pathName, nameArgs, newMailbox)},
		callapi.ActMailboxSet:      {s.nodeOne(callapi.ActMailboxSet, pathName, mailboxArgs, noResult)},
		callapi.ActMailboxDelete:   {s.nodeOne(callapi.ActMailboxDelete, pathName, nameArgs, noResult)},
		callapi.ActGlobalVarGet:    {s.nodeOne(callapi.ActGlobalVarGet, pathName, globalGetArgs, newVariable)},
		callapi.ActGlobalVarSet:    {s.nodeOne(callapi.ActGlobalVarSet, pathName, globalSetArgs, noResult)},
	}
}
