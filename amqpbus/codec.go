package amqpbus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// Header names of command messages (docs/protocol.md).
const (
	HeaderTenant         = "x-tenant"
	HeaderDeadline       = "x-deadline" // unix milliseconds
	HeaderIdempotencyKey = "x-idempotency-key"
	HeaderDeliveryCount  = "x-delivery-count" // set by quorum queues
	HeaderTag            = "x-tag"            // on the per-tag copies of an event

	contentJSON = "application/json"
	// maxBody bounds what the decoders accept from outside.
	maxBody = 1 << 20
)

// encodeCommand builds the AMQP message of cmd. replyTo is
// amq.rabbitmq.reply-to for a request and "" for Send.
func encodeCommand(cmd *callapi.Command, replyTo string, now time.Time) (amqp.Publishing, error) {
	body, err := json.Marshal(cmd)
	if err != nil {
		return amqp.Publishing{}, callapi.Wrap(callapi.CodeInternal, "amqpbus.encodeCommand", err, "unencodable command")
	}
	h := amqp.Table{HeaderTenant: cmd.Tenant}
	exp := ""
	if !cmd.Deadline.IsZero() {
		h[HeaderDeadline] = cmd.Deadline.UnixMilli()
		ms := cmd.Deadline.Sub(now).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		exp = strconv.FormatInt(ms, 10)
	}
	if cmd.IdempotencyKey != "" {
		h[HeaderIdempotencyKey] = cmd.IdempotencyKey
	}
	return amqp.Publishing{
		Headers:       h,
		ContentType:   contentJSON,
		DeliveryMode:  amqp.Transient,
		CorrelationId: cmd.ID,
		MessageId:     cmd.ID,
		ReplyTo:       replyTo,
		Expiration:    exp,
		Timestamp:     now,
		Type:          string(cmd.Action),
		Body:          body,
	}, nil
}

// decodeCommand decodes a command delivery: the JSON body, checked against
// the properties and headers, with Deadline and IdempotencyKey filled from
// the headers. An error means the message is poison (never retried).
func decodeCommand(body []byte, messageID string, h amqp.Table) (*callapi.Command, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("command body of %d bytes exceeds %d", len(body), maxBody)
	}
	var cmd callapi.Command
	if err := json.Unmarshal(body, &cmd); err != nil { // rejects trailing data too
		return nil, fmt.Errorf("undecodable command body: %w", err)
	}
	if cmd.ID == "" || len(cmd.ID) > 200 {
		return nil, fmt.Errorf("command without a valid id")
	}
	if messageID != "" && messageID != cmd.ID {
		return nil, fmt.Errorf("message_id %q differs from command id %q", messageID, cmd.ID)
	}
	if cmd.Action == "" {
		return nil, fmt.Errorf("command %s without an action", cmd.ID)
	}
	if t, ok := h[HeaderTenant].(string); ok && t != "" {
		if cmd.Tenant == "" {
			cmd.Tenant = t
		} else if t != cmd.Tenant {
			return nil, fmt.Errorf("header x-tenant %q differs from tenant %q", t, cmd.Tenant)
		}
	}
	if cmd.Tenant != "" && !callapi.CommandTenantOK(cmd.Action, cmd.Tenant) {
		return nil, fmt.Errorf("tenant %q is not 1-64 of [A-Za-z0-9_-] (nor %q on a %s)", cmd.Tenant, callapi.AllTenants, callapi.ActCallList)
	}
	defaultTenant(&cmd)
	if v, ok := h[HeaderDeadline]; ok {
		d, err := deadlineHeader(v)
		if err != nil {
			return nil, err
		}
		cmd.Deadline = d
	}
	if v, ok := h[HeaderIdempotencyKey]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("header x-idempotency-key is %T, not a string", v)
		}
		cmd.IdempotencyKey = s
	}
	return &cmd, nil
}

// deadlineHeader reads x-deadline (unix ms) in any integer encoding a
// client library may choose, or a decimal string.
func deadlineHeader(v any) (time.Time, error) {
	var ms int64
	switch x := v.(type) {
	case int64:
		ms = x
	case int32:
		ms = int64(x)
	case int16:
		ms = int64(x)
	case int8:
		ms = int64(x)
	case int:
		ms = int64(x)
	case uint64:
		ms = int64(x)
	case uint32:
		ms = int64(x)
	case uint16:
		ms = int64(x)
	case uint8:
		ms = int64(x)
	case float64:
		ms = int64(x)
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("header x-deadline %q is not unix milliseconds", x)
		}
		ms = n
	default:
		return time.Time{}, fmt.Errorf("header x-deadline is %T, not an integer", v)
	}
	if ms <= 0 || ms > 1<<50 {
		return time.Time{}, fmt.Errorf("header x-deadline %d out of range", ms)
	}
	return time.UnixMilli(ms), nil
}

// deliveryCount is how many times the broker delivered d before (quorum
// queues count it; for others, redelivered counts as one).
func deliveryCount(h amqp.Table, redelivered bool) int64 {
	switch x := h[HeaderDeliveryCount].(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	}
	if redelivered {
		return 1
	}
	return 0
}

func encodeReply(rep *callapi.Reply, correlationID string) (amqp.Publishing, error) {
	body, err := json.Marshal(rep)
	if err != nil {
		return amqp.Publishing{}, callapi.Wrap(callapi.CodeInternal, "amqpbus.encodeReply", err, "unencodable reply")
	}
	// Only the properties of docs/protocol.md §3: a direct reply is never
	// stored (no delivery mode) and nobody reads a timestamp on it; each
	// property costs encoding, parsing and a string on both ends.
	return amqp.Publishing{
		ContentType:   contentJSON,
		CorrelationId: correlationID,
		MessageId:     rep.ID,
		Body:          body,
	}, nil
}

// decodeReply decodes a reply body.
func decodeReply(body []byte) (*callapi.Reply, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("reply body of %d bytes exceeds %d", len(body), maxBody)
	}
	var rep callapi.Reply
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("undecodable reply: %w", err)
	}
	if rep.ID == "" {
		return nil, fmt.Errorf("reply without an id")
	}
	if !rep.OK && rep.Error == nil {
		return nil, fmt.Errorf("failed reply %s without an error", rep.ID)
	}
	return &rep, nil
}

// decodeEvent decodes an event body.
func decodeEvent(body []byte) (*callapi.Event, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("event body of %d bytes exceeds %d", len(body), maxBody)
	}
	var e callapi.Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("undecodable event: %w", err)
	}
	if e.ID == "" || e.Type == "" {
		return nil, fmt.Errorf("event without id or type")
	}
	e.Cursor = "" // a gateway's, for its streams; never taken from the bus
	return &e, nil
}

// decodeHeartbeat decodes a heartbeat body.
func decodeHeartbeat(body []byte) (*callapi.Heartbeat, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("heartbeat body of %d bytes exceeds %d", len(body), maxBody)
	}
	var hb callapi.Heartbeat
	if err := json.Unmarshal(body, &hb); err != nil {
		return nil, fmt.Errorf("undecodable heartbeat: %w", err)
	}
	if !callapi.ValidNodeID(string(hb.Node)) {
		return nil, fmt.Errorf("heartbeat with invalid node id %q", hb.Node)
	}
	return &hb, nil
}

// defaultTenant gives a command that names no tenant the default one, as it
// is decoded: the dedup memory and the per-call lanes key on the tenant, so
// a command without one and a copy saying "default" must be the same.
func defaultTenant(cmd *callapi.Command) {
	if cmd.Tenant == "" {
		cmd.Tenant = callapi.DefaultTenant
	}
}
