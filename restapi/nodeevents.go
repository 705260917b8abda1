package restapi

import (
	"encoding/json"

	"github.com/callgw/callgw/callapi"
)

// nodeView is a node's JSON (a callapi.Node on GET /v1/nodes, a
// heartbeat in a node.* event's data) as principal p may see it. The
// heartbeat's call count is node-wide, all tenants together, so only an
// admin token sees it: a tenant's token would otherwise learn how busy
// the other tenants are; for others "calls" is left out. It is the one
// place that hides it. Nil means data could not be redacted (not a JSON
// object) and must not be passed on.
func nodeView(data json.RawMessage, p Principal) json.RawMessage {
	if p.Has(ScopeAdmin) || len(data) == 0 {
		return data
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil
	}
	if _, ok := m["calls"]; !ok {
		return data
	}
	delete(m, "calls")
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

// nodeJSON is n as p may see it on GET /v1/nodes (nodeView).
func nodeJSON(n callapi.Node, p Principal) json.RawMessage {
	b, err := json.Marshal(n)
	if err != nil {
		return nil
	}
	return nodeView(b, p)
}

// streamView is e as principal p may see it on an event stream. Node
// events belong to no tenant and reach every tenant's streams; their data
// goes through nodeView, as on GET /v1/nodes.
func streamView(e *callapi.Event, p Principal) *callapi.Event {
	if e.Type.Resource() != "node" {
		return eventChannelView(e, p)
	}
	if len(e.Data) == 0 {
		return e
	}
	data := nodeView(e.Data, p)
	if data != nil && string(data) == string(e.Data) { // nothing hidden
		return e
	}
	cp := *e
	cp.Data = data
	return &cp
}
