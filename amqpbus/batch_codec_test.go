package amqpbus

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callgw/callgw/callapi"
)

// A batch encoded by the gateway decodes to the same commands, with their
// deadlines and idempotency keys, and an expiration for the latest item.
func TestBatchRoundTrip(t *testing.T) {
	now := time.Now()
	cmds := []*callapi.Command{
		{ID: "a", Action: callapi.ActCallGet, Tenant: "acme", CallID: "c1", Deadline: now.Add(2 * time.Second)},
		{ID: "b", Action: callapi.ActCallVarSet, Tenant: "acme", CallID: "c2", Args: json.RawMessage(`{"name":"X","value":"1"}`),
			Deadline: now.Add(5 * time.Second), IdempotencyKey: "k"},
	}
	msg, err := encodeBatch("batch1", cmds, directReplyTo, now)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Type != TypeBatch || msg.MessageId != "batch1" || msg.Expiration != "5000" || msg.ReplyTo != directReplyTo {
		t.Fatalf("properties: %+v", msg)
	}
	items, err := decodeBatch(msg.Body)
	if err != nil || len(items) != 2 {
		t.Fatalf("%v %d", err, len(items))
	}
	for i, it := range items {
		c := cmds[i]
		if it.err != nil || it.cmd.ID != c.ID || it.cmd.Action != c.Action || it.cmd.CallID != c.CallID ||
			it.cmd.Deadline.UnixMilli() != c.Deadline.UnixMilli() || it.cmd.IdempotencyKey != c.IdempotencyKey ||
			string(it.cmd.Args) != string(c.Args) {
			t.Fatalf("item %d: %+v (%v), want %+v", i, it.cmd, it.err, c)
		}
	}
	reps := []*callapi.Reply{callapi.OKReply("a", "pbx1", map[string]int{"x": 1}), callapi.ErrReply("b", "pbx1", callapi.Errorf(callapi.CodeNotFound, "no"))}
	rm, err := encodeReplies(reps)
	if err != nil || rm.Type != TypeBatch {
		t.Fatal(err)
	}
	got, bad, err := decodeReplies(rm.Body)
	if err != nil || bad != 0 || len(got) != 2 || got[1].Error.Code != callapi.CodeNotFound {
		t.Fatalf("%+v %d %v", got, bad, err)
	}
}

func TestDecodeBatchRefuses(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"v":1,"commands":[{"id":"a","action":"call.get"}]}`, `{"v":2,"commands":[]}`, `{"v":2}`, `{"v":2,"commands":{}}`} {
		if _, err := decodeBatch([]byte(body)); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
	items, err := decodeBatch([]byte(`{"v":2,"commands":[{"id":"a"},{"action":"call.get"},{"id":"c","action":"call.get","deadline":-5},{"id":"d","action":"call.get","tenant":"a b"},7]}`))
	if err != nil || len(items) != 5 {
		t.Fatal(err)
	}
	for i, it := range items {
		if it.err == nil {
			t.Errorf("item %d accepted: %+v", i, it.cmd)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"v":2,"commands":[{"id":"a","action":"call.get","tenant":"acme","call_id":"c","deadline":1764760000123,"idempotency_key":"k"}]}`))
	f.Add([]byte(`{"v":2,"commands":[{"id":"a"},{"action":"call.get"},7]}`))
	f.Add([]byte(`{"v":3,"commands":[{"id":"a","action":"call.get","args":{"x":[1,2]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := decodeBatch(body)
		if err != nil {
			return
		}
		if len(items) == 0 || len(items) > maxBatchItems {
			t.Fatalf("accepted %d items", len(items))
		}
		for _, it := range items {
			if it.cmd == nil {
				t.Fatal("item without a command")
			}
			if it.err == nil && (it.cmd.ID == "" || it.cmd.Action == "" || (it.cmd.Tenant != "" && !callapi.CommandTenantOK(it.cmd.Action, it.cmd.Tenant))) {
				t.Fatalf("accepted a bad item: %+v", it.cmd)
			}
		}
	})
}

func FuzzDecodeReplies(f *testing.F) {
	f.Add([]byte(`{"v":2,"replies":[{"id":"a","ok":true,"result":{}},{"id":"b","ok":false,"error":{"code":"not_found","message":"x"}}]}`))
	f.Add([]byte(`{"v":2,"replies":[{"id":"","ok":true},{"id":"b","ok":false},null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reps, _, err := decodeReplies(body)
		if err != nil {
			return
		}
		for _, r := range reps {
			if r == nil || r.ID == "" || (!r.OK && r.Error == nil) {
				t.Fatalf("accepted %+v", r)
			}
			_ = r.Err()
		}
	})
}
