package restapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/gateway"
	"github.com/callgw/callgw/restapi"
)

// A gateway wires the server to the domain service, the node registry, an
// event hub fed by the bus, and a readiness check. Here the bus is left
// out: the hub is fed by hand.
func ExampleNewServer() {
	reg := gateway.NewRegistry()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 2000}, time.Now())
	svc := gateway.NewService(nil, reg, gateway.NewLocations(0)) // the bus: amqpbus.New(...)
	hub := restapi.NewHub(restapi.HubConfig{})                   // feed it: bus.SubscribeEvents(ctx, nil, hub.Publish)
	ready := restapi.HealthFunc(func() error { return nil })     // broker connected and a node up

	api := restapi.NewServer(restapi.Config{Addr: ":8080"}, svc, reg, hub, ready)
	// go api.Run(ctx) serves it; here one request through the handler:
	rec := httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/nodes/pbx1", nil))
	fmt.Println(rec.Code)

	ch, stop, _ := hub.Subscribe(context.Background(), restapi.EventFilter{Types: []string{"call."}, Tenant: "default"})
	defer stop()
	hub.Publish(&callapi.Event{ID: "e1", Type: callapi.EvCallHangup, Tenant: "default", CallID: "c1"})
	fmt.Println((<-ch).Type)
	// Output:
	// 200
	// call.hangup
}
