package callapi

import "strings"

// Exchange and queue names of the wire protocol (docs/protocol.md). The bus
// may prefix them (tests use a per-test prefix on one shared broker).
const (
	ExchangeCommands     = "callapi.commands"      // topic
	ExchangeEvents       = "callapi.events"        // fanout
	ExchangeEventsRouted = "callapi.events.routed" // topic, bound to ExchangeEvents
	ExchangeNodes        = "callapi.nodes"         // fanout, heartbeats
	ExchangeDead         = "callapi.dead"          // dead letters
	QueueAny             = "callapi.any"           // shared work queue
	QueueNodePrefix      = "callapi.node."         // + node id
	// KeyNodesPing is the routing key, on ExchangeCommands, of a ping that
	// asks every worker to publish its heartbeat now (a starting gateway
	// learns the live nodes without waiting for their next beat). Every
	// node queue is bound to it; the any queue is not.
	KeyNodesPing = "nodes.ping"
)

// Queue names of webhook delivery (package webhook; docs/webhooks.md),
// under the same prefix.
const (
	QueueWebhookIntake        = "callgw.webhooks.intake"        // quorum, bound to ExchangeEvents
	QueueWebhookSubscriptions = "callgw.webhooks.subscriptions" // stream of subscription records
	QueueWebhookLog           = "callgw.webhooks.log"           // stream of delivery attempts
	QueueWebhookPrefix        = "callgw.webhook."               // + subscription id (+ ".wait", ".dead")
)

// CommandKey is the routing key of a command: cmd.<target>.<action>.
func CommandKey(t Target, a Action) string {
	return "cmd." + string(t) + "." + string(a)
}

// TenantCommandKey is the routing key of a command published by a tenant's
// own AMQP user (the bus client of callapi/bus):
// cmd.<target>.tenant.<tenant>.<action>. It reaches the same queues as
// CommandKey (their bindings are cmd.<target>.#), and it lets the broker
// confine the user: a topic permission on the commands exchange that
// allows only keys starting cmd.*.tenant.<tenant>. makes every command it
// publishes name its tenant in the key, and a worker refuses a command
// whose body names another tenant than its key (forbidden).
func TenantCommandKey(t Target, tenant string, a Action) string {
	return "cmd." + string(t) + ".tenant." + tenant + "." + string(a)
}

// KeyTenant returns the tenant named by a command's routing key
// (TenantCommandKey) and whether it names one; a CommandKey names none.
func KeyTenant(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "cmd.")
	if !ok {
		return "", false
	}
	if _, rest, ok = strings.Cut(rest, "."); !ok {
		return "", false
	}
	if rest, ok = strings.CutPrefix(rest, "tenant."); !ok {
		return "", false
	}
	tenant, _, ok := strings.Cut(rest, ".")
	return tenant, ok
}

// KeyWord makes s usable as one word of a topic routing key: dots become
// underscores; "*" and "#" too; empty becomes "_". Subscribers' patterns
// (callapi.Pattern) spell their words with it.
func KeyWord(s string) string {
	if s == "" {
		return "_"
	}
	return strings.NewReplacer(".", "_", "*", "_", "#", "_").Replace(s)
}

// EventKey is an event's routing key, always five words:
// <tenant>.<node>.<resource>.<event>.<id>, e.g. acme.pbx1.call.hangup.4f7c….
func EventKey(e *Event) string {
	return KeyWord(e.Tenant) + "." + KeyWord(string(e.Node)) + "." +
		KeyWord(e.Type.Resource()) + "." + KeyWord(e.Type.Name()) + "." + KeyWord(e.SubjectID())
}

// TagKey is the routing key of the copy of an event published for one of
// its tags: <tenant>.tag.<tag>.
func TagKey(tenant, tag string) string {
	return KeyWord(tenant) + ".tag." + KeyWord(tag)
}

// EventsExchange is the topic exchange subscribers bind their queues to
// (preceded by the deployment's prefix, CALLGW_AMQP_PREFIX, if any).
const EventsExchange = ExchangeEventsRouted

// Pattern builds a topic pattern on an event's routing key
// <tenant>.<node>.<resource>.<event>.<id>; an empty word matches any
// ("*"). Dots inside a word (call.playback.started's event
// playback.started, an inbound channel id) are written as "_", as the
// gateway does. Pattern("acme", "", "call", "created", "") is
// "acme.*.call.created.*": every new call of tenant acme.
func Pattern(tenant, node, resource, event, id string) string {
	w := []string{tenant, node, resource, event, id}
	for i, s := range w {
		if s == "" {
			w[i] = "*"
		} else {
			w[i] = KeyWord(s)
		}
	}
	return strings.Join(w, ".")
}

// TenantPattern is "<tenant>.#": every event of a tenant.
func TenantPattern(tenant string) string { return KeyWord(tenant) + ".#" }

// TagPattern is "<tenant>.tag.<tag>": the events of the calls carrying a
// tag, on every node (the key the gateway publishes the tag's copies with).
func TagPattern(tenant, tag string) string { return TagKey(tenant, tag) }
