package asterisk

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callgw/callgw/callapi"
)

// ring remembers the last ids added to it, so that a late event or a stale
// re-read cannot resurrect what ended. Fixed size, no growth. Its owner's
// lock guards it.
type ring[K ~string] struct {
	ids  []K
	set  map[K]struct{}
	next int
}

func newRing[K ~string](n int) *ring[K] {
	return &ring[K]{ids: make([]K, n), set: make(map[K]struct{}, n)}
}

func (r *ring[K]) add(id K) {
	if _, ok := r.set[id]; ok {
		return
	}
	if old := r.ids[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ids[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ids)
}

func (r *ring[K]) has(id K) bool { _, ok := r.set[id]; return ok }

// bridgeTable holds the bridges created (or adopted) through callgw and
// maps the ARI events of bridges. It is safe for concurrent use.
type bridgeTable struct {
	node   callapi.NodeID
	now    func() time.Time
	tenant string // of events of bridges not created through callgw: the node's default tenant

	mu      sync.Mutex // guards bridges, dead and every field of every bridge in bridges
	bridges map[callapi.BridgeID]*bridgeRec
	// dead are the last bridges callgw announced destroyed, so a
	// BridgeDestroyed arriving after callgw's own DELETE is not announced
	// again (under the node's default tenant).
	dead *ring[callapi.BridgeID]
}

func newBridgeTable(node callapi.NodeID, tenant string) *bridgeTable {
	return &bridgeTable{node: node, now: time.Now, tenant: tenant, bridges: make(map[callapi.BridgeID]*bridgeRec), dead: newRing[callapi.BridgeID](256)}
}

// bridgeRec is the worker's memory of a bridge created through callgw:
// small, forgotten once the bridge is destroyed.
type bridgeRec struct {
	id        callapi.BridgeID
	tenant    string
	typ, name string
	createdAt time.Time
	pending   bool // CreateBridge registered it; POST /bridges not answered yet
}

func (b *bridgeRec) data() callapi.BridgeData { return callapi.BridgeData{Name: b.name, Type: b.typ} }

// add remembers a bridge; false when the id is in use.
func (t *bridgeTable) add(b *bridgeRec) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.bridges[b.id]; ok {
		return false
	}
	t.bridges[b.id] = b
	return true
}

// get returns the bridge id of tenant, or nil.
func (t *bridgeTable) get(tenant string, id callapi.BridgeID) *bridgeRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bridges[id]
	if b == nil || b.tenant != tenant || b.pending {
		return nil
	}
	return b
}

// of returns the bridges of tenant.
func (t *bridgeTable) of(tenant string) []*bridgeRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*bridgeRec
	for _, b := range t.bridges {
		if b.tenant == tenant && !b.pending {
			out = append(out, b)
		}
	}
	return out
}

// ids returns the ids of the bridges created through callgw.
func (t *bridgeTable) ids() []callapi.BridgeID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]callapi.BridgeID, 0, len(t.bridges))
	for id, b := range t.bridges {
		if !b.pending {
			out = append(out, id)
		}
	}
	return out
}

// known reports whether id is a bridge callgw remembers or destroyed.
func (t *bridgeTable) known(id callapi.BridgeID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.bridges[id]
	return ok || t.dead.has(id)
}

// forget drops a bridge without publishing anything (its creation
// failed).
func (t *bridgeTable) forget(id callapi.BridgeID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.bridges, id)
}

// event builds an event of bridge b (no call, no seq).
func (t *bridgeTable) event(b *bridgeRec, typ callapi.EventType, at time.Time, raw []byte) *callapi.Event {
	data, _ := json.Marshal(b.data())
	return &callapi.Event{ID: uuid.NewString(), Type: typ, Time: at, Node: t.node, Tenant: b.tenant, BridgeID: b.id, Data: data, ARI: publicARI(raw)}
}

// goneLocked forgets bridge id and returns its bridge.destroyed, or
// nil when it was already forgotten.
func (t *bridgeTable) goneLocked(id callapi.BridgeID, at time.Time, raw []byte) *callapi.Event {
	b := t.bridges[id]
	if b == nil {
		return nil
	}
	delete(t.bridges, id)
	t.dead.add(id)
	return t.event(b, callapi.EvBridgeDestroyed, at, raw)
}

// handleGone ends a bridge that callgw destroyed or found missing.
func (t *bridgeTable) handleGone(id callapi.BridgeID) []*callapi.Event {
	at := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return compact([]*callapi.Event{t.goneLocked(id, at, nil)})
}

// copyOf returns a copy of b, read under the table's lock.
func (t *bridgeTable) copyOf(b *bridgeRec) bridgeRec {
	t.mu.Lock()
	defer t.mu.Unlock()
	return *b
}

// settle records that POST /bridges answered for b, with the type and
// creation time Asterisk reports (kept as they were when empty).
func (t *bridgeTable) settle(b *bridgeRec, typ string, createdAt time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b.pending = false
	if typ != "" {
		b.typ = typ
	}
	if !createdAt.IsZero() {
		b.createdAt = createdAt
	}
}

// handleEvent maps bridge.created/destroyed. A bridge created through
// callgw carries its creator's tenant; bridge.created was published when
// CreateBridge succeeded (Asterisk sends BridgeCreated only to apps
// subscribed to all bridges), and bridge.destroyed is published once, from
// BridgeDestroyed or from callgw's own DELETE, whichever comes first. Other
// bridges carry the node's default tenant.
func (t *bridgeTable) handleEvent(ev *ariEvent, id callapi.BridgeID, at time.Time, raw []byte) []*callapi.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var typ callapi.EventType
	switch ev.Type {
	case "BridgeCreated":
		if t.bridges[id] != nil {
			return nil // announced by CreateBridge
		}
		typ = callapi.EvBridgeCreated
	case "BridgeDestroyed":
		if t.bridges[id] != nil {
			return compact([]*callapi.Event{t.goneLocked(id, at, raw)})
		}
		if t.dead.has(id) {
			return nil // announced when callgw destroyed it
		}
		typ = callapi.EvBridgeDestroyed
	default:
		return nil
	}
	e := &callapi.Event{ID: uuid.NewString(), Type: typ, Time: at, Node: t.node, Tenant: t.tenant, BridgeID: id, ARI: publicARI(raw)}
	if ev.Bridge != nil {
		e.Data, _ = json.Marshal(callapi.BridgeData{Name: ev.Bridge.Name, Type: ev.Bridge.Type})
	}
	return []*callapi.Event{e}
}
