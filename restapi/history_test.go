package restapi

import (
	"context"
	"fmt"
	"testing"

	"github.com/callgw/callgw/callapi"
)

// The resume buffer is kept per tenant: other tenants' events do not push
// a tenant's own out, so how long its events stay resumable tells it
// nothing about the others' volume. Node events are resumed in order with
// the tenant's own.
func TestHubHistoryPerTenant(t *testing.T) {
	hub := NewHub(HubConfig{History: 4, Buffer: 8})
	mine := func(id string) *callapi.Event {
		e := ev(id, callapi.EvCallCreated, "c1")
		e.Tenant = "acme"
		return e
	}
	hub.Publish(mine("a1"))
	hub.Publish(&callapi.Event{ID: "n1", Type: callapi.EvNodeUp, Node: "pbx1"})
	hub.Publish(mine("a2"))
	for i := range 10 {
		o := ev(fmt.Sprint("o", i), callapi.EvCallCreated, "c2")
		o.Tenant = "globex"
		hub.Publish(o)
	}
	ch, unsub, err := hub.Subscribe(context.Background(), EventFilter{Tenant: "acme", LastEventID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	var got []string
	for len(ch) > 0 {
		got = append(got, (<-ch).ID)
	}
	if fmt.Sprint(got) != "[n1 a2]" {
		t.Fatalf("resumed %v, want [n1 a2]", got)
	}
	// Another tenant's id resumes nothing for acme: an id acme's streams
	// never saw, answered as one (the resume gap) whether or not another
	// tenant has it.
	for _, id := range []string{"o7", "no-such-id"} {
		ch2, unsub2, _ := hub.Subscribe(context.Background(), EventFilter{Tenant: "acme", LastEventID: id})
		if len(ch2) != 1 || !IsResumeGap(<-ch2) {
			t.Fatalf("resume after %s: %d values, want the resume-gap marker alone", id, len(ch2))
		}
		unsub2()
	}
}
