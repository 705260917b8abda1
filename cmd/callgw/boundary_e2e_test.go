package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/asterisk/arisim"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/cmd/internal/stack"
	"github.com/callgw/callgw/config"
)

// rawClient publishes commands straight onto callapi.commands, as any AMQP
// client may, bypassing the gateway and its REST checks.
type rawClient struct {
	t       *testing.T
	ch      *amqp.Channel
	exch    string
	replies <-chan amqp.Delivery
	returns chan amqp.Return
}

func newRawClient(t *testing.T, url, prefix string) *rawClient {
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: amqp.Table{"connection_name": "callgw e2e raw client " + t.Name()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	replies, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, ch: ch, exch: prefix + callapi.ExchangeCommands, replies: replies,
		returns: ch.NotifyReturn(make(chan amqp.Return, 16))}
}

// request publishes cmd to node and waits for its reply; a command no
// queue took yet (the worker is starting) is published again.
func (c *rawClient) request(node callapi.NodeID, cmd callapi.Command) *callapi.Reply {
	c.t.Helper()
	cmd.ID = uuid.NewString()
	body, _ := json.Marshal(cmd)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.ch.PublishWithContext(ctx, c.exch, callapi.CommandKey(callapi.NodeTarget(node), cmd.Action), true, false, amqp.Publishing{
			ContentType: "application/json", MessageId: cmd.ID, CorrelationId: cmd.ID, ReplyTo: "amq.rabbitmq.reply-to",
			Type: string(cmd.Action), Body: body,
		})
		if err != nil {
			cancel()
			c.t.Fatal(err)
		}
		select {
		case <-c.returns:
			cancel()
			time.Sleep(100 * time.Millisecond)
			continue
		case d, ok := <-c.replies:
			cancel()
			if !ok {
				c.t.Fatalf("the client's channel closed: %v", c.ch.IsClosed())
			}
			var rep callapi.Reply
			if err := json.Unmarshal(d.Body, &rep); err != nil || d.CorrelationId != cmd.ID {
				c.t.Fatalf("reply %s (%v), correlation %q", d.Body, err, d.CorrelationId)
			}
			return &rep
		case <-ctx.Done():
			cancel()
			c.t.Fatalf("no reply to %s", cmd.Action)
		}
	}
	c.t.Fatalf("no worker took %s", cmd.Action)
	return nil
}

// TestBusRefusesInvalidCommands: a command published straight onto the
// bus (no gateway, no REST) with invalid arguments is refused by the
// worker with invalid_argument and never reaches the PBX; reserved
// variables (CALLGW_*, also _CALLGW_* and __CALLGW_*) are refused in
// originate and in set-variable alike. A valid command does reach it,
// so the counter below can tell.
func TestBusRefusesInvalidCommands(t *testing.T) {
	url := brokerURL(t)
	prefix := "t" + uuid.NewString()[:8] + "."
	sim := arisim.New(arisim.Config{User: "u", Password: "p", AsteriskID: "pbx1", SystemName: "pbx1"})
	var writes atomic.Int64 // ARI requests that change something
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writes.Add(1)
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); sim.Close() })
	w, err := stack.NewWorker(&config.Worker{Common: config.Common{AMQPURLs: []string{url}, LogLevel: "info", Prefix: prefix},
		NodeID: "pbx1", ARIURL: ts.URL + "/ari", ARIUser: "u", ARIPassword: "p", ARIApp: "callgw",
		Tenant: callapi.DefaultTenant, HeartbeatInterval: 500 * time.Millisecond, Concurrency: 8}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("worker did not stop within 15s")
		}
		deleteTopology(t, url, prefix)
	})
	// Publishing to an exchange not declared yet would close the client's
	// channel: wait for the worker's bus to have declared the topology.
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	if err := w.Bus().Ready(rctx); err != nil {
		t.Fatalf("worker's bus not ready: %v", err)
	}
	c := newRawClient(t, url, prefix)
	if rep := c.request("pbx1", callapi.Command{Action: callapi.ActNodePing, Tenant: "acme"}); !rep.OK {
		t.Fatalf("ping: %+v", rep.Error)
	}
	// A call to act on, placed through the bus too.
	call := callapi.CallID(uuid.NewString())
	rep := c.request("pbx1", callapi.Command{Action: callapi.ActCallOriginate, Tenant: "acme", CallID: call,
		Args: json.RawMessage(`{"to":"Local/answer@callgw-test","variables":{"FOO":"1"}}`)})
	if !rep.OK {
		t.Fatalf("originate: %+v", rep.Error)
	}
	time.Sleep(200 * time.Millisecond) // let the call's own ARI traffic settle
	before, channels := writes.Load(), sim.ChannelCount()
	for _, tc := range []struct {
		name string
		cmd  callapi.Command
	}{
		{"originate reserved variable", callapi.Command{Action: callapi.ActCallOriginate, CallID: callapi.CallID(uuid.NewString()),
			Args: json.RawMessage(`{"to":"Local/answer@callgw-test","variables":{"CALLGW_TENANT":"globex"}}`)}},
		{"originate inherited reserved", callapi.Command{Action: callapi.ActCallOriginate, CallID: callapi.CallID(uuid.NewString()),
			Args: json.RawMessage(`{"to":"Local/answer@callgw-test","variables":{"_CALLGW_TAGS":"x"}}`)}},
		{"originate inherited twice", callapi.Command{Action: callapi.ActCallOriginate, CallID: callapi.CallID(uuid.NewString()),
			Args: json.RawMessage(`{"to":"Local/answer@callgw-test","variables":{"__CALLGW_DIRECTION":"inbound"}}`)}},
		{"originate bad endpoint", callapi.Command{Action: callapi.ActCallOriginate, CallID: callapi.CallID(uuid.NewString()),
			Args: json.RawMessage(`{"to":"nope"}`)}},
		{"originate bad call id", callapi.Command{Action: callapi.ActCallOriginate, CallID: "a/b",
			Args: json.RawMessage(`{"to":"Local/answer@callgw-test"}`)}},
		{"set reserved variable", callapi.Command{Action: callapi.ActCallVarSet, CallID: call,
			Args: json.RawMessage(`{"name":"CALLGW_TENANT","value":"globex"}`)}},
		{"set inherited reserved", callapi.Command{Action: callapi.ActCallVarSet, CallID: call,
			Args: json.RawMessage(`{"name":"__CALLGW_TENANT","value":"globex"}`)}},
		{"set SHELL", callapi.Command{Action: callapi.ActCallVarSet, CallID: call, Args: json.RawMessage(`{"name":"SHELL(id)","value":"x"}`)}},
		{"play absolute sound", callapi.Command{Action: callapi.ActCallPlay, CallID: call, Args: json.RawMessage(`{"media":["sound:/etc/passwd"]}`)}},
		{"dtmf bad digits", callapi.Command{Action: callapi.ActCallDTMF, CallID: call, Args: json.RawMessage(`{"digits":"xyz"}`)}},
		{"continue comma", callapi.Command{Action: callapi.ActCallContinue, CallID: call, Args: json.RawMessage(`{"context":"admin,1"}`)}},
		{"unknown member", callapi.Command{Action: callapi.ActCallHangup, CallID: call, Args: json.RawMessage(`{"cause":16}`)}},
		{"transfer one call twice", callapi.Command{Action: callapi.ActCallTransfer,
			Args: json.RawMessage(`{"transferee":"` + string(call) + `","target":"` + string(call) + `","transferer":"x"}`)}},
		{"bridge bad type", callapi.Command{Action: callapi.ActBridgeCreate, BridgeID: "b1", Args: json.RawMessage(`{"type":"party"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.Tenant = "acme"
			rep := c.request("pbx1", tc.cmd)
			if rep.OK || rep.Error == nil || rep.Error.Code != callapi.CodeInvalidArgument {
				t.Fatalf("reply %+v %+v, want invalid_argument", rep, rep.Error)
			}
		})
	}
	if n := writes.Load() - before; n != 0 {
		t.Errorf("%d ARI writes reached the PBX for refused commands", n)
	}
	if v := sim.ChannelCount(); v != channels {
		t.Errorf("%d channels on the PBX, want %d (the valid call's)", v, channels)
	}
	// The valid form of the same command does reach the PBX.
	if rep := c.request("pbx1", callapi.Command{Action: callapi.ActCallVarSet, Tenant: "acme", CallID: call,
		Args: json.RawMessage(`{"name":"FOO","value":"2"}`)}); !rep.OK {
		t.Fatalf("set FOO: %+v", rep.Error)
	}
	if writes.Load() == before {
		t.Error("a valid set-variable did not reach the PBX: the counter counts nothing")
	}
	if rep := c.request("pbx1", callapi.Command{Action: callapi.ActCallHangup, Tenant: "acme", CallID: call}); !rep.OK {
		t.Fatalf("hangup: %+v", rep.Error)
	}
}
