package asterisk

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// liveCallBytes measures the call table's heap per live call, answered, with
// two tags, as the worker holds it between events.
func liveCallBytes(n int) float64 {
	tr := newCallTable("pbx1", "acme")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		id := fmt.Sprintf("c7d1e2f3-0000-4000-8000-%012d", i)
		c := &call{id: callapi.CallID(id), tenant: "acme", tags: []string{"sales-42", "campaign-7"}, dir: callapi.Outbound,
			from: "+4930123456", to: "PJSIP/alice", state: callapi.StateDown}
		tr.register(c)
		ch := &ariChannel{ID: id, Name: "PJSIP/alice-0000abcd", State: "Up"}
		tr.handleSeen(ch, nil)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tr)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

func TestLiveCallMemory(t *testing.T) {
	per := liveCallBytes(20000)
	t.Logf("call table heap per live call: %.0f bytes", per)
	if per > 4096 {
		t.Errorf("%.0f bytes per live call, budget 4 KiB of the worker's 16 KiB", per)
	}
}
