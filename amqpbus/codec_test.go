package amqpbus

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

func TestCommandRoundTrip(t *testing.T) {
	now := time.Now()
	cmd := &callapi.Command{ID: "id-1", Action: callapi.ActCallHangup, Tenant: "acme", CallID: "c1",
		Args: json.RawMessage(`{"reason":"normal"}`), Deadline: now.Add(1500 * time.Millisecond), IdempotencyKey: "k1"}
	msg, err := encodeCommand(cmd, directReplyTo, now)
	if err != nil {
		t.Fatal(err)
	}
	if msg.MessageId != "id-1" || msg.CorrelationId != "id-1" || msg.Type != "call.hangup" || msg.ReplyTo != directReplyTo ||
		msg.Expiration != "1500" || msg.ContentType != "application/json" || msg.Headers[HeaderTenant] != "acme" ||
		msg.Headers[HeaderIdempotencyKey] != "k1" || msg.Headers[HeaderDeadline] != cmd.Deadline.UnixMilli() {
		t.Fatalf("message %+v", msg)
	}
	got, err := decodeCommand(msg.Body, msg.MessageId, msg.Headers)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != cmd.ID || got.CallID != cmd.CallID || !got.Deadline.Equal(time.UnixMilli(cmd.Deadline.UnixMilli())) ||
		got.IdempotencyKey != "k1" || string(got.Args) != string(cmd.Args) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeCommandRejects(t *testing.T) {
	ok := `{"id":"a","action":"call.get","tenant":"acme"}`
	for _, tc := range []struct {
		name  string
		body  string
		msgID string
		h     amqp.Table
	}{
		{"garbage", `{"id":`, "", nil},
		{"trailing", ok + `{}`, "", nil},
		{"no id", `{"action":"call.get"}`, "", nil},
		{"no action", `{"id":"a"}`, "", nil},
		{"message id mismatch", ok, "b", nil},
		{"tenant mismatch", ok, "", amqp.Table{HeaderTenant: "evil"}},
		{"deadline type", ok, "", amqp.Table{HeaderDeadline: true}},
		{"deadline string", ok, "", amqp.Table{HeaderDeadline: "soon"}},
		{"deadline negative", ok, "", amqp.Table{HeaderDeadline: int64(-5)}},
		{"idempotency type", ok, "", amqp.Table{HeaderIdempotencyKey: int32(3)}},
		{"every tenant on another action than call.list", `{"id":"a","action":"call.hangup","tenant":"*","call_id":"c"}`, "", nil},
		{"every tenant in the header on a call.get", `{"id":"a","action":"call.get"}`, "", amqp.Table{HeaderTenant: "*"}},
		{"a tenant pattern", `{"id":"a","action":"call.list","tenant":"a*"}`, "", nil},
	} {
		if _, err := decodeCommand([]byte(tc.body), tc.msgID, tc.h); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if cmd, err := decodeCommand([]byte(`{"id":"a","action":"call.list","tenant":"*"}`), "", nil); err != nil || cmd.Tenant != callapi.AllTenants {
		t.Errorf("call.list for every tenant: %+v, %v", cmd, err)
	}
	for _, v := range []any{int64(1700000000000), int32(1700000), "1700000000000", uint32(5), float64(1e12)} {
		if _, err := deadlineHeader(v); err != nil {
			t.Errorf("deadline %T %v: %v", v, v, err)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte(`{"id":"a","action":"call.get","tenant":"acme","args":{"x":1}}`), "a", int64(1700000000000), "", false, "acme", "k")
	f.Add([]byte(`{"id":"a","action":"call.originate","call_id":"c"}`), "", int64(0), "1700000000000", true, "", "")
	f.Add([]byte(`[]`), "", int64(-1), "x", true, "evil", "")
	f.Fuzz(func(t *testing.T, body []byte, msgID string, dl int64, dls string, useString bool, tenant, key string) {
		h := amqp.Table{HeaderDeadline: dl, HeaderTenant: tenant, HeaderIdempotencyKey: key}
		if useString {
			h[HeaderDeadline] = dls
		}
		cmd, err := decodeCommand(body, msgID, h)
		if err != nil {
			return
		}
		if cmd.ID == "" || cmd.Action == "" {
			t.Fatalf("accepted a command without id or action: %+v", cmd)
		}
		if tenant != "" && cmd.Tenant != tenant {
			t.Fatalf("tenant %q accepted against header %q", cmd.Tenant, tenant)
		}
		// What we accept, we can send on, and it decodes the same.
		m1, err := encodeCommand(cmd, "", time.Now())
		if err != nil {
			return // e.g. args that are not valid JSON cannot be re-encoded
		}
		c2, err := decodeCommand(m1.Body, m1.MessageId, m1.Headers)
		if err != nil {
			t.Fatalf("re-decoding our own encoding: %v\n%s", err, m1.Body)
		}
		m2, err := encodeCommand(c2, "", time.Now())
		if err != nil || !bytes.Equal(m1.Body, m2.Body) || !c2.Deadline.Equal(cmd.Deadline) {
			t.Fatalf("round trip changed the command: %s vs %s (%v)", m1.Body, m2.Body, err)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"id":"a","ok":true,"node":"pbx1","result":{"x":1}}`))
	f.Add([]byte(`{"id":"a","ok":false,"error":{"code":"not_found","message":"no"}}`))
	f.Add([]byte(`{"id":"a","ok":false}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := decodeReply(body)
		if err != nil {
			return
		}
		if rep.ID == "" || (!rep.OK && rep.Error == nil) {
			t.Fatalf("accepted %+v", rep)
		}
		_ = rep.Err()
		_ = rep.Decode(nil)
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"id":"e","type":"call.hangup","node":"pbx1","tenant":"acme","call_id":"c.1","tags":["t"]}`))
	f.Add([]byte(`{"id":"e","type":"command.completed","data":{"command_id":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := decodeEvent(body)
		if err != nil {
			return
		}
		// Every accepted event has a five-word routing key.
		if k := callapi.EventKey(e); len(bytes.Split([]byte(k), []byte("."))) != 5 {
			t.Fatalf("event key %q is not five words", k)
		}
		for _, tag := range e.Tags {
			if k := callapi.TagKey(e.Tenant, tag); len(bytes.Split([]byte(k), []byte("."))) != 3 {
				t.Fatalf("tag key %q is not three words", k)
			}
		}
	})
}

func FuzzDecodeHeartbeat(f *testing.F) {
	f.Add([]byte(`{"node":"pbx1","state":"up","app":"callgw","calls":1,"capacity":10,"healthy":true,"interval_ms":2000}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		hb, err := decodeHeartbeat(body)
		if err != nil {
			return
		}
		if !callapi.ValidNodeID(string(hb.Node)) {
			t.Fatalf("accepted node %q", hb.Node)
		}
	})
}

func TestMemoEvictsOnlyFinished(t *testing.T) {
	m := newMemo(2)
	cmd := func(id string) *callapi.Command {
		return &callapi.Command{ID: id, Tenant: "t", Action: callapi.ActCallGet}
	}
	a, _ := m.begin(cmd("a")) // stays in progress
	b, _ := m.begin(cmd("b"))
	m.finish(b, &callapi.Reply{ID: "b", OK: true})
	c, _ := m.begin(cmd("c"))
	m.finish(c, &callapi.Reply{ID: "c", OK: true})
	if _, dup := m.begin(cmd("a")); !dup {
		t.Fatal("in-progress entry evicted")
	}
	if m.len() > 3 {
		t.Fatalf("memo holds %d", m.len())
	}
	m.finish(a, &callapi.Reply{ID: "a", OK: true})
	for i := 0; i < 10; i++ {
		e, _ := m.begin(cmd(string(rune('d' + i))))
		m.finish(e, &callapi.Reply{OK: true})
	}
	if m.len() != 2 {
		t.Fatalf("memo holds %d, want its size 2", m.len())
	}
	// Same id in another tenant is another command.
	if _, dup := m.begin(&callapi.Command{ID: "m", Tenant: "other", Action: callapi.ActCallGet}); dup {
		t.Fatal("ids collide across tenants")
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 0; attempt < 20; attempt++ {
		d := retry.Backoff(attempt, 100*time.Millisecond, 2*time.Second)
		if d < 50*time.Millisecond || d > 2*time.Second {
			t.Fatalf("attempt %d: %v", attempt, d)
		}
	}
	if d := retry.Backoff(10, 100*time.Millisecond, 2*time.Second); d < time.Second {
		t.Fatalf("capped backoff %v below max/2", d)
	}
}

// TestTenantDefaultedAtDecode: a command that names no tenant is the
// default tenant's as soon as it is decoded, single or batched, so that it
// and a copy saying "default" share the dedup memory and the call's lane.
func TestTenantDefaultedAtDecode(t *testing.T) {
	bare, err := decodeCommand([]byte(`{"id":"a","action":"call.get","call_id":"c1"}`), "", amqp.Table{})
	if err != nil {
		t.Fatal(err)
	}
	named, err := decodeCommand([]byte(`{"id":"a","action":"call.get","call_id":"c1","tenant":"default"}`), "", amqp.Table{})
	if err != nil {
		t.Fatal(err)
	}
	items, err := decodeBatch([]byte(`{"v":2,"commands":[{"id":"a","action":"call.get","call_id":"c1"}]}`))
	if err != nil || len(items) != 1 || items[0].err != nil {
		t.Fatalf("batch: %v %+v", err, items)
	}
	for _, c := range []*callapi.Command{bare, items[0].cmd} {
		if c.Tenant != callapi.DefaultTenant || memoKey(c) != memoKey(named) || laneKey(c) != laneKey(named) {
			t.Errorf("tenant %q: memo %q lane %q, want those of %q", c.Tenant, memoKey(c), laneKey(c), named.Tenant)
		}
	}
}
