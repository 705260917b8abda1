package restapi

import (
	"encoding/json"

	"github.com/callgw/callgw/callapi"
)

// streamView is e as principal p may see it on an event stream. Node
// events belong to no tenant and reach every tenant's streams, but their
// heartbeat's call count is node-wide, all tenants together: as in GET
// /v1/nodes, only an admin token sees it; for others "calls" is left out.
func streamView(e *callapi.Event, p Principal) *callapi.Event {
	if e.Type.Resource() != "node" || p.Has(ScopeAdmin) || len(e.Data) == 0 {
		return e
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &m); err != nil {
		cp := *e
		cp.Data = nil // never pass on what could not be redacted
		return &cp
	}
	if _, ok := m["calls"]; !ok {
		return e
	}
	delete(m, "calls")
	cp := *e
	cp.Data, _ = json.Marshal(m)
	return &cp
}
