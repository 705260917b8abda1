package gateway

import "github.com/callgw/callgw/callapi"

// tenantQueues keeps call ids in arrival order, one queue per tenant, so
// that bounds apply per tenant. Not safe for concurrent use.
type tenantQueues struct {
	q map[string][]callapi.CallID
	n int // ids in all queues
}

func newTenantQueues() tenantQueues { return tenantQueues{q: map[string][]callapi.CallID{}} }

func (t *tenantQueues) push(tenant string, id callapi.CallID) {
	t.q[tenant] = append(t.q[tenant], id)
	t.n++
}

func (t *tenantQueues) len(tenant string) int { return len(t.q[tenant]) }

func (t *tenantQueues) first(tenant string) callapi.CallID { return t.q[tenant][0] }

// pop removes and returns tenant's oldest id ("" when it has none).
func (t *tenantQueues) pop(tenant string) callapi.CallID {
	q := t.q[tenant]
	if len(q) == 0 {
		return ""
	}
	id := q[0]
	if len(q) == 1 {
		delete(t.q, tenant)
	} else {
		t.q[tenant] = q[1:]
	}
	t.n--
	return id
}

// largest returns the tenant with the longest queue.
func (t *tenantQueues) largest() string {
	var best string
	n := -1
	for tenant, q := range t.q {
		if len(q) > n {
			best, n = tenant, len(q)
		}
	}
	return best
}

// compact drops the ids of tenant's queue that are no longer live, when
// it holds more than over of them.
func (t *tenantQueues) compact(tenant string, live func(callapi.CallID) bool, over int) {
	q := t.q[tenant]
	if len(q) <= over {
		return
	}
	kept := make([]callapi.CallID, 0, len(q))
	for _, id := range q {
		if live(id) {
			kept = append(kept, id)
		}
	}
	t.n -= len(q) - len(kept)
	if len(kept) == 0 {
		delete(t.q, tenant)
	} else {
		t.q[tenant] = kept
	}
}
