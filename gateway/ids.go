package gateway

import (
	"regexp"
)

// CallID identifies a call across the cluster. Originated calls get a UUID
// chosen by the gateway (passed to ARI as channelId); inbound calls keep
// Asterisk's channel id, made unique by the node's systemname.
type CallID string

// BridgeID identifies a bridge across the cluster.
type BridgeID string

// NodeID names one PBX node (one Asterisk, one worker). It is a word of a
// routing key, so it must match ValidNodeID.
type NodeID string

var nodeRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidNodeID reports whether s can be used as a node id: 1–64 of
// [A-Za-z0-9_-] and not one of the reserved targets "any" and "all".
func ValidNodeID(s string) bool {
	return nodeRe.MatchString(s) && s != string(TargetAny) && s != string(TargetAll)
}

var idRe = regexp.MustCompile(`^[A-Za-z0-9._:;@-]{1,128}$`)

// ValidID reports whether s is acceptable as a call, bridge, playback or
// recording id (what ARI accepts in a URL path segment without escaping).
func ValidID(s string) bool { return idRe.MatchString(s) }

var tagRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidTag reports whether s is a valid tag: it becomes a routing-key word.
func ValidTag(s string) bool { return tagRe.MatchString(s) }

var tenantRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidTenant reports whether s is a valid tenant id (a routing-key word).
func ValidTenant(s string) bool { return tenantRe.MatchString(s) }

// DefaultTenant is the tenant of commands and calls that name none.
const DefaultTenant = "default"
