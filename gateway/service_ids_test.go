package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// namingBus answers creating commands with what they name, and records
// every command it was given.
type namingBus struct {
	sent []*callapi.Command
}

func (b *namingBus) Request(_ context.Context, _ callapi.Target, cmd *callapi.Command) (*callapi.Reply, error) {
	b.sent = append(b.sent, cmd)
	switch cmd.Action {
	case callapi.ActCallPlay, callapi.ActBridgePlay:
		var a callapi.PlayArgs
		_ = json.Unmarshal(cmd.Args, &a)
		return callapi.OKReply(cmd.ID, "pbx1", callapi.Playback{ID: a.PlaybackID, Node: "pbx1"}), nil
	case callapi.ActCallSnoop:
		var a callapi.SnoopArgs
		_ = json.Unmarshal(cmd.Args, &a)
		return callapi.OKReply(cmd.ID, "pbx1", callapi.Call{ID: a.SnoopID, Node: "pbx1"}), nil
	case callapi.ActCallTransfer:
		var a callapi.TransferArgs
		_ = json.Unmarshal(cmd.Args, &a)
		return callapi.OKReply(cmd.ID, "pbx1", callapi.Bridge{ID: a.BridgeID, Node: "pbx1"}), nil
	}
	return callapi.OKReply(cmd.ID, "pbx1", nil), nil
}

func (b *namingBus) Gather(_ context.Context, cmd *callapi.Command, _ []callapi.NodeID) ([]*callapi.Reply, error) {
	return []*callapi.Reply{callapi.OKReply(cmd.ID, "pbx1", callapi.LocateResult{Node: "pbx1"})}, nil
}

func (b *namingBus) Send(_ context.Context, _ callapi.Target, cmd *callapi.Command) error {
	b.sent = append(b.sent, cmd)
	return nil
}

// last returns the playback, snoop or bridge id the last command's
// arguments carried.
func (b *namingBus) last(t *testing.T) string {
	t.Helper()
	var a struct {
		PlaybackID string `json:"playback_id"`
		SnoopID    string `json:"snoop_id"`
		BridgeID   string `json:"bridge_id"`
	}
	if err := json.Unmarshal(b.sent[len(b.sent)-1].Args, &a); err != nil {
		t.Fatal(err)
	}
	return a.PlaybackID + a.SnoopID + a.BridgeID
}

// TestServiceNamesWhatItCreates: the Service names the playbacks, snoop
// calls and transfer bridges it creates, whichever method asks for them,
// from the Idempotency-Key (per tenant: the Options name it, restapi
// gives the default one) when there is one, so that a retried request names
// the same; the name is in the command, the result, and an async
// acceptance (Accepted.Created).
func TestServiceNamesWhatItCreates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reg := NewRegistry()
	reg.Observe(callapi.Heartbeat{Node: "pbx1", State: callapi.NodeUp, Healthy: true, IntervalMS: 60000}, time.Now())
	bus := &namingBus{}
	s := NewService(bus, reg, NewLocations(0))
	// The names restapi gave before the Service did: a retry across an
	// upgrade names the same resource.
	keyed := func(tenant, key, kind string) string {
		return string(callapi.CallIDFor(callapi.CommandID(tenant, key) + "/" + kind))
	}
	media := callapi.PlayArgs{Media: []string{"tone:ring"}}

	t.Run("call play", func(t *testing.T) {
		want := keyed(callapi.DefaultTenant, "k1", "playback")
		pb, _, err := s.Play(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k1"}, "c1", media)
		if err != nil || pb.ID != want || bus.last(t) != want {
			t.Errorf("playback %+v (sent %q) %v, want %s", pb, bus.last(t), err, want)
		}
		_, acc, err := s.Play(ctx, Options{Tenant: "acme", IdempotencyKey: "k1", Async: true}, "c1", media)
		if want := keyed("acme", "k1", "playback"); err != nil || acc == nil || acc.Created != want || bus.last(t) != want {
			t.Errorf("async: %+v (sent %q) %v, want %s", acc, bus.last(t), err, want)
		}
		a, _, _ := s.Play(ctx, Options{}, "c1", media)
		b, _, _ := s.Play(ctx, Options{}, "c1", media)
		if a == nil || b == nil || a.ID == "" || a.ID == b.ID {
			t.Errorf("without a key: %+v and %+v, want two new ids", a, b)
		}
	})

	t.Run("bridge play", func(t *testing.T) {
		want := keyed(callapi.DefaultTenant, "k2", "playback")
		args := media
		var pb callapi.Playback
		if _, err := s.BridgeAction(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k2"}, "b1", callapi.ActBridgePlay, &args, &pb); err != nil || pb.ID != want || bus.last(t) != want {
			t.Errorf("playback %+v (sent %q) %v, want %s", pb, bus.last(t), err, want)
		}
		if args.PlaybackID != "" {
			t.Errorf("the caller's arguments were changed: %+v", args)
		}
		acc, err := s.BridgeAction(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k2", Async: true}, "b1", callapi.ActBridgePlay, media, nil)
		if err != nil || acc == nil || acc.Created != want || bus.last(t) != want {
			t.Errorf("async: %+v (sent %q) %v, want %s", acc, bus.last(t), err, want)
		}
	})

	t.Run("snoop", func(t *testing.T) {
		want := keyed(callapi.DefaultTenant, "k3", "snoop")
		c, _, err := s.Snoop(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k3"}, "c1", callapi.SnoopArgs{})
		if err != nil || string(c.ID) != want || bus.last(t) != want {
			t.Errorf("snoop call %+v (sent %q) %v, want %s", c, bus.last(t), err, want)
		}
		_, acc, err := s.Snoop(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k3", Async: true}, "c1", callapi.SnoopArgs{})
		if err != nil || acc == nil || acc.Created != want || bus.last(t) != want {
			t.Errorf("async: %+v (sent %q) %v, want %s", acc, bus.last(t), err, want)
		}
	})

	// CallAction names what it creates as Play and Snoop do, and leaves
	// the caller's arguments as they are.
	t.Run("call action play", func(t *testing.T) {
		want := keyed(callapi.DefaultTenant, "k4", "playback")
		args := media
		var pb callapi.Playback
		if _, err := s.CallAction(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k4"}, "c1", callapi.ActCallPlay, &args, &pb); err != nil || pb.ID != want || bus.last(t) != want {
			t.Errorf("playback %+v (sent %q) %v, want %s", pb, bus.last(t), err, want)
		}
		if args.PlaybackID != "" {
			t.Errorf("the caller's arguments were changed: %+v", args)
		}
		acc, err := s.CallAction(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k4", Async: true}, "c1", callapi.ActCallPlay, media, nil)
		if err != nil || acc == nil || acc.Created != want || bus.last(t) != want {
			t.Errorf("async: %+v (sent %q) %v, want %s", acc, bus.last(t), err, want)
		}
	})

	t.Run("call action snoop", func(t *testing.T) {
		want := keyed(callapi.DefaultTenant, "k5", "snoop")
		var c callapi.Call
		if _, err := s.CallAction(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k5"}, "c1", callapi.ActCallSnoop, &callapi.SnoopArgs{}, &c); err != nil || string(c.ID) != want || bus.last(t) != want {
			t.Errorf("snoop call %+v (sent %q) %v, want %s", c, bus.last(t), err, want)
		}
		acc, err := s.CallAction(ctx, Options{Tenant: callapi.DefaultTenant, IdempotencyKey: "k5", Async: true}, "c1", callapi.ActCallSnoop, callapi.SnoopArgs{}, nil)
		if err != nil || acc == nil || acc.Created != want || bus.last(t) != want {
			t.Errorf("async: %+v (sent %q) %v, want %s", acc, bus.last(t), err, want)
		}
		if _, err := s.CallAction(ctx, Options{}, "c1", callapi.ActCallSnoop, &callapi.SnoopArgs{SnoopID: "mine"}, &c); err != nil || c.ID != "mine" || bus.last(t) != "mine" {
			t.Errorf("a given id: %+v (sent %q) %v, want mine", c, bus.last(t), err)
		}
	})

	// A transfer's bridge: the id of the command's own creation, as
	// bridge.create's (CallIDFor of the command id).
	t.Run("transfer", func(t *testing.T) {
		want := string(callapi.CallIDFor(callapi.CommandID("acme", "k6")))
		b, err := s.Transfer(ctx, Options{Tenant: "acme", IdempotencyKey: "k6"}, callapi.TransferArgs{Transferee: "c1", Target: "c2", Transferer: "c3"})
		if err != nil || string(b.ID) != want || bus.last(t) != want {
			t.Errorf("bridge %+v (sent %q) %v, want %s", b, bus.last(t), err, want)
		}
		a, _ := s.Transfer(ctx, Options{}, callapi.TransferArgs{Transferee: "c1", Target: "c2", Transferer: "c3"})
		b, _ = s.Transfer(ctx, Options{}, callapi.TransferArgs{Transferee: "c1", Target: "c2", Transferer: "c3"})
		if a == nil || b == nil || a.ID == "" || a.ID == b.ID {
			t.Errorf("without a key: %+v and %+v, want two new ids", a, b)
		}
	})
}
