package amqpbus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// Protocol version 2 (docs/protocol.md §0 and §7): a message may carry a
// batch of commands, and a worker may answer several of them in one reply
// message. Version 1 messages (one command, one reply) keep working both
// ways: a worker of version 2 serves them as before, and a gateway sends
// batches only to nodes whose heartbeat announces version 2.
const (
	// ProtocolVersion is the command protocol this package speaks.
	ProtocolVersion = 2
	// TypeBatch is the AMQP type property of a batch of commands and of a
	// batch of replies.
	TypeBatch = "callgw.batch"

	// maxBatchItems bounds the items of one batch message, on both sides.
	maxBatchItems = 512
)

// batchCommand is one item of a command batch: the command body of
// protocol version 1 plus what travels in a version 1 message's headers.
type batchCommand struct {
	callapi.Command
	DeadlineMS     int64  `json:"deadline,omitempty"`        // unix ms, as x-deadline
	IdempotencyKey string `json:"idempotency_key,omitempty"` // as x-idempotency-key
}

// batchBody is the body of a TypeBatch message: commands (to a worker) or
// replies (to a requester), never both.
type batchBody struct {
	V        int              `json:"v"`
	Commands []batchCommand   `json:"commands,omitempty"`
	Replies  []*callapi.Reply `json:"replies,omitempty"`
}

// encodeBatch builds the message of a batch of commands for a requester
// (replyTo is direct reply-to). expiration is the latest item's deadline:
// the message lives as long as one of its items may still run; each
// item's own deadline is checked by the worker.
func encodeBatch(id string, cmds []*callapi.Command, replyTo string, now time.Time) (amqp.Publishing, error) {
	body := batchBody{V: ProtocolVersion, Commands: make([]batchCommand, len(cmds))}
	var last time.Time
	for i, c := range cmds {
		body.Commands[i] = batchCommand{Command: *c, IdempotencyKey: c.IdempotencyKey}
		if !c.Deadline.IsZero() {
			body.Commands[i].DeadlineMS = c.Deadline.UnixMilli()
			if c.Deadline.After(last) {
				last = c.Deadline
			}
		}
	}
	b, err := json.Marshal(&body)
	if err != nil {
		return amqp.Publishing{}, callapi.Wrap(callapi.CodeInternal, "amqpbus.encodeBatch", err, "unencodable batch")
	}
	exp := ""
	if !last.IsZero() {
		ms := last.Sub(now).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		exp = strconv.FormatInt(ms, 10)
	}
	return amqp.Publishing{
		ContentType:  contentJSON,
		DeliveryMode: amqp.Transient,
		MessageId:    id,
		ReplyTo:      replyTo,
		Expiration:   exp,
		Timestamp:    now,
		Type:         TypeBatch,
		Body:         b,
	}, nil
}

// batchItem is one decoded item of a command batch: the command, or why
// it is refused (err) when it has at least an id to answer to.
type batchItem struct {
	cmd *callapi.Command
	err error
}

// decodeBatch decodes a batch of commands. A body that is not a batch at
// all is poison (an error: the whole message is dead-lettered); an item
// that is wrong on its own is returned with its error, answered
// invalid_argument when it has an id, and never run.
func decodeBatch(body []byte) ([]batchItem, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("batch body of %d bytes exceeds %d", len(body), maxBody)
	}
	var raw struct {
		V        int               `json:"v"`
		Commands []json.RawMessage `json:"commands"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("undecodable batch: %w", err)
	}
	if raw.V < 2 {
		return nil, fmt.Errorf("batch of protocol version %d", raw.V)
	}
	if len(raw.Commands) == 0 || len(raw.Commands) > maxBatchItems {
		return nil, fmt.Errorf("batch of %d commands (1-%d)", len(raw.Commands), maxBatchItems)
	}
	items := make([]batchItem, len(raw.Commands))
	for i, r := range raw.Commands {
		items[i] = decodeBatchCommand(r)
	}
	return items, nil
}

func decodeBatchCommand(r json.RawMessage) batchItem {
	var bc batchCommand
	if err := json.Unmarshal(r, &bc); err != nil {
		// Salvage the id, if any, so that the requester hears why.
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(r, &id)
		cmd := &callapi.Command{ID: id.ID}
		return batchItem{cmd: cmd, err: fmt.Errorf("undecodable command: %w", err)}
	}
	cmd := bc.Command
	cmd.IdempotencyKey = bc.IdempotencyKey
	if bc.DeadlineMS != 0 {
		if bc.DeadlineMS < 0 || bc.DeadlineMS > 1<<50 {
			return batchItem{cmd: &cmd, err: fmt.Errorf("deadline %d out of range", bc.DeadlineMS)}
		}
		cmd.Deadline = time.UnixMilli(bc.DeadlineMS)
	}
	switch {
	case cmd.ID == "" || len(cmd.ID) > 200:
		return batchItem{cmd: &cmd, err: fmt.Errorf("command without a valid id")}
	case cmd.Action == "":
		return batchItem{cmd: &cmd, err: fmt.Errorf("command %s without an action", cmd.ID)}
	case cmd.Tenant != "" && !callapi.CommandTenantOK(cmd.Action, cmd.Tenant):
		return batchItem{cmd: &cmd, err: fmt.Errorf("tenant %q is not 1-64 of [A-Za-z0-9_-] (nor %q on a %s)", cmd.Tenant, callapi.AllTenants, callapi.ActCallList)}
	}
	defaultTenant(&cmd)
	return batchItem{cmd: &cmd}
}

// encodeReplies builds one reply message carrying reps (two or more; a
// single reply goes as a version 1 reply, see encodeReply).
func encodeReplies(reps []*callapi.Reply) (amqp.Publishing, error) {
	b, err := json.Marshal(&batchBody{V: ProtocolVersion, Replies: reps})
	if err != nil {
		return amqp.Publishing{}, callapi.Wrap(callapi.CodeInternal, "amqpbus.encodeReplies", err, "unencodable replies")
	}
	return amqp.Publishing{ContentType: contentJSON, Type: TypeBatch, Body: b}, nil
}

// decodeReplies decodes a batch of replies; replies without an id, or
// failed without an error, are left out (and counted by the caller).
func decodeReplies(body []byte) (reps []*callapi.Reply, bad int, err error) {
	if len(body) > maxBody {
		return nil, 0, fmt.Errorf("reply batch of %d bytes exceeds %d", len(body), maxBody)
	}
	var bb batchBody
	if err := json.Unmarshal(body, &bb); err != nil {
		return nil, 0, fmt.Errorf("undecodable reply batch: %w", err)
	}
	if len(bb.Replies) > maxBatchItems {
		return nil, 0, fmt.Errorf("reply batch of %d replies exceeds %d", len(bb.Replies), maxBatchItems)
	}
	out := bb.Replies[:0]
	for _, r := range bb.Replies {
		if r == nil || r.ID == "" || (!r.OK && r.Error == nil) {
			bad++
			continue
		}
		out = append(out, r)
	}
	return out, bad, nil
}
