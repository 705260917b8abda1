package callapi

import "github.com/google/uuid"

// CallID identifies a call across the cluster. Originated calls get a UUID
// chosen by the gateway (passed to ARI as channelId); inbound calls keep
// Asterisk's channel id, made unique by the node's systemname.
type CallID string

// BridgeID identifies a bridge across the cluster.
type BridgeID string

// NodeID names one PBX node (one Asterisk, one worker). It is a word of a
// routing key, so it must match ValidNodeID.
type NodeID string

// ValidNodeID reports whether s can be used as a node id: 1–64 of
// [A-Za-z0-9_-] and not one of the reserved targets "any" and "all".
func ValidNodeID(s string) bool {
	return isWord(s, 64) && s != string(TargetAny) && s != string(TargetAll)
}

// CheckNodeID checks a node id given in field (ValidNodeID).
func CheckNodeID(field string, n NodeID) error {
	if !ValidNodeID(string(n)) {
		return Invalid(field, "%q is not a node id (1-64 of [A-Za-z0-9_-], not any or all)", n)
	}
	return nil
}

// idForm describes ValidID's ids in messages.
const idForm = "1-128 of [A-Za-z0-9._:;@-]"

// CheckID checks an id given in field: ValidID, else invalid_argument
// saying that id is not a what ("call id", "bridge id", …) and the form an
// id has, or that one is required when id is empty.
func CheckID(field, what, id string) error {
	switch {
	case id == "":
		return Invalid(field, "required: a %s (%s)", what, idForm)
	case !ValidID(id):
		return Invalid(field, "%q is not a %s (%s)", id, what, idForm)
	}
	return nil
}

// ValidID reports whether s is acceptable as a call, bridge, playback or
// recording id (what ARI accepts in a URL path segment without escaping).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '_' && c != '-' && c != '.' && c != ':' && c != ';' && c != '@' {
			return false
		}
	}
	return true
}

// ValidTag reports whether s is a valid tag: it becomes a routing-key word.
func ValidTag(s string) bool { return isWord(s, 64) }

// ValidTenant reports whether s is a valid tenant id (a routing-key word).
func ValidTenant(s string) bool { return isWord(s, 64) }

// The checks below are loops, not regular expressions: they run several
// times per command on both sides of the bus, and regexp's matcher was
// 3-6 % of the gateway's CPU (performance.md). ids_test.go holds them to
// the regular expressions they replace.

// isWord reports whether s is 1-max of [A-Za-z0-9_-]: a routing-key word.
func isWord(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// DefaultTenant is the tenant of commands and calls that name none.
const DefaultTenant = "default"

// AllTenants, as the tenant of a call.list command, lists every tenant's
// calls. It is no valid tenant (ValidTenant refuses it), and only a call.list
// may carry it (CommandTenantOK); a worker honours it only from a trusted
// publisher, never from a tenant's own AMQP user, whose routing key names
// its tenant (TenantCommandKey).
const AllTenants = "*"

// CommandTenantOK reports whether tenant may be the tenant of a command of
// action a: a valid tenant, or AllTenants for ActCallList.
func CommandTenantOK(a Action, tenant string) bool {
	return ValidTenant(tenant) || (tenant == AllTenants && a == ActCallList)
}

// idemNamespace seeds deterministic command ids from idempotency keys.
var idemNamespace = uuid.MustParse("6f1c1a52-5b0e-4b8a-9d43-0c8d5e0a7c11")

// CommandID returns a new command id, or the deterministic one for an
// idempotency key (per tenant), so that a retried request reuses it.
func CommandID(tenant, idemKey string) string {
	if idemKey == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(idemNamespace, []byte(tenant+"\x00"+idemKey)).String()
}

// CallIDFor derives the id of the call an originate command creates, so that
// a retried originate addresses the same channel id.
func CallIDFor(commandID string) CallID {
	return CallID(uuid.NewSHA1(idemNamespace, []byte("call\x00"+commandID)).String())
}

// HangupEventID is the id of the call.hangup of call id of tenant: the
// same whichever path publishes it (the worker that saw the call end, a
// retry, or a restarted worker that found the call gone), so that a
// subscriber that drops repeats by event id sees one end per call, also
// when a worker died between publishing a call's end and recording it.
func HangupEventID(tenant string, id CallID) string {
	return uuid.NewSHA1(idemNamespace, []byte("call.hangup\x00"+tenant+"\x00"+string(id))).String()
}
