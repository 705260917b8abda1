package callapi

import (
	"context"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// External media: a call's audio to an outside service (a voice bot, a
// speech recogniser) and that service's audio back into the call, over
// ARI's POST /channels/externalMedia, bridged with the call. The
// destination must be on the tenant's allow-list (ExternalMediaTargets),
// refused by default: otherwise anyone with calls:write could make
// Asterisk stream audio to any host.

// External media events, published by the worker.
const (
	EvCallExternalMediaStarted EventType = "call.externalmedia.started"
	EvCallExternalMediaStopped EventType = "call.externalmedia.stopped"
)

// Encapsulations and transports of external media, as ARI names them.
const (
	EncapRTP         = "rtp"         // RTP over UDP (chan_rtp's UnicastRTP)
	EncapAudioSocket = "audiosocket" // AudioSocket over TCP (chan_audiosocket)
	EncapNone        = "none"        // raw audio over a WebSocket (chan_websocket)

	TransportUDP       = "udp"
	TransportTCP       = "tcp"
	TransportWebSocket = "websocket"
)

// ExternalMediaFormats are the audio formats external media may use.
var ExternalMediaFormats = []string{"ulaw", "alaw", "g722", "gsm", "opus", "slin", "slin12", "slin16", "slin24", "slin32", "slin44", "slin48"}

// ExternalMediaControl sends a call's audio to an outside service and its
// audio back into the call. asterisk.PBX implements it; a PBX without it
// answers not_implemented.
type ExternalMediaControl interface {
	// StartExternalMedia bridges call id of tenant with a new external
	// media channel (into the call's bridge, or a new one).
	StartExternalMedia(ctx context.Context, tenant string, id CallID, a ExternalMediaArgs) (*ExternalMedia, error)
	// StopExternalMedia hangs up an external media channel of the call.
	StopExternalMedia(ctx context.Context, tenant string, id CallID, mediaID string) error
}

// ExternalMediaArgs are the arguments of ActCallExternalMedia.
type ExternalMediaArgs struct {
	// MediaID names the external media (its channel on Asterisk); the
	// gateway names it.
	MediaID string `json:"media_id,omitempty"`
	// Host is where the audio goes: host:port for rtp and audiosocket, the
	// id of a websocket_client connection (websocket_client.conf) for
	// websocket. It must be on the tenant's allow-list.
	Host          string `json:"host"`
	Encapsulation string `json:"encapsulation,omitempty"` // rtp (default), audiosocket, none (with websocket)
	Transport     string `json:"transport,omitempty"`     // udp (default with rtp), tcp (audiosocket), websocket
	Format        string `json:"format,omitempty"`        // audio format, ulaw by default
}

// Created and Named let the gateway name the external media.
func (a *ExternalMediaArgs) Created() (string, string) { return a.MediaID, "external-media" }

func (a *ExternalMediaArgs) Named(id string) Validator {
	c := *a
	c.MediaID = id
	return &c
}

var (
	extHostRe = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}$`)
	wsConnRe  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// Effective returns the arguments with ARI's defaults filled in: rtp over
// udp, audiosocket over tcp, none over websocket, format ulaw.
func (a ExternalMediaArgs) Effective() ExternalMediaArgs {
	if a.Transport == "" {
		switch a.Encapsulation {
		case EncapAudioSocket:
			a.Transport = TransportTCP
		case EncapNone:
			a.Transport = TransportWebSocket
		default:
			a.Transport = TransportUDP
		}
	}
	if a.Encapsulation == "" {
		switch a.Transport {
		case TransportTCP:
			a.Encapsulation = EncapAudioSocket
		case TransportWebSocket:
			a.Encapsulation = EncapNone
		default:
			a.Encapsulation = EncapRTP
		}
	}
	if a.Format == "" {
		a.Format = "ulaw"
	}
	return a
}

// Validate checks the encapsulation and transport (rtp/udp,
// audiosocket/tcp or none/websocket), the host and the format.
func (a *ExternalMediaArgs) Validate() error {
	if a.MediaID != "" && !ValidID(a.MediaID) {
		return Invalid("media_id", "%q is not a valid id", a.MediaID)
	}
	if a.Encapsulation != "" && !slices.Contains([]string{EncapRTP, EncapAudioSocket, EncapNone}, a.Encapsulation) {
		return Invalid("encapsulation", "%q: one of rtp, audiosocket, none", a.Encapsulation)
	}
	if a.Transport != "" && !slices.Contains([]string{TransportUDP, TransportTCP, TransportWebSocket}, a.Transport) {
		return Invalid("transport", "%q: one of udp, tcp, websocket", a.Transport)
	}
	if a.Format != "" && !slices.Contains(ExternalMediaFormats, a.Format) {
		return Invalid("format", "%q: one of %s", a.Format, strings.Join(ExternalMediaFormats, ", "))
	}
	e := a.Effective()
	switch e.Encapsulation + "/" + e.Transport {
	case "rtp/udp", "audiosocket/tcp", "none/websocket":
	default:
		return Invalid("transport", "%s over %s is not offered: rtp over udp, audiosocket over tcp, none over websocket", e.Encapsulation, e.Transport)
	}
	if a.Host == "" {
		return Invalid("host", "required: host:port (or a websocket_client connection id with websocket)")
	}
	if e.Transport == TransportWebSocket {
		if !wsConnRe.MatchString(a.Host) {
			return Invalid("host", "%q is not a websocket_client connection id (1-64 of [A-Za-z0-9_.:-])", a.Host)
		}
		return nil
	}
	if _, _, err := splitHostPort(a.Host); err != nil {
		return Invalid("host", "%q: %v", a.Host, err)
	}
	return nil
}

// splitHostPort splits host:port, with a name or IP address and a port
// of 1-65535.
func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, Invalid("host", "not host:port")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, Invalid("host", "the port must be 1-65535")
	}
	if _, err := netip.ParseAddr(h); err != nil && !extHostRe.MatchString(h) {
		return "", 0, Invalid("host", "not a host name or IP address")
	}
	return h, port, nil
}

// ExternalMediaStopArgs are the arguments of ActCallExternalMediaStop.
type ExternalMediaStopArgs struct {
	MediaID string `json:"media_id"`
}

// Validate checks the id.
func (a *ExternalMediaStopArgs) Validate() error {
	return CheckID("media_id", "external media id", a.MediaID)
}

// ExternalMedia is an external media session of a call.
type ExternalMedia struct {
	ID            string   `json:"id"`
	CallID        CallID   `json:"call_id"`
	BridgeID      BridgeID `json:"bridge_id"` // the bridge holding the call and the media channel
	Node          NodeID   `json:"node,omitempty"`
	Host          string   `json:"host"`
	Encapsulation string   `json:"encapsulation"`
	Transport     string   `json:"transport"`
	Format        string   `json:"format"`
	// LocalAddress and LocalPort are where Asterisk takes the service's
	// RTP back (rtp only: UNICASTRTP_LOCAL_ADDRESS/PORT).
	LocalAddress string `json:"local_address,omitempty"`
	LocalPort    int    `json:"local_port,omitempty"`
}

// ExternalMediaData is the data of call.externalmedia.started and
// .stopped.
type ExternalMediaData struct {
	ExternalMedia
	Reason string `json:"reason,omitempty"` // stopped: api (a stop request) or remote (Asterisk or the service ended it)
}

// ExternalMediaTargets is the allow-list of external media: for each
// tenant ("*": every tenant) the destinations it may send a call's audio
// to. An entry is host:port (that port of a name or address), an IP
// address (any port), a CIDR prefix (any port of its addresses) or
// ws:<connection id> (a websocket_client connection). Empty: none.
type ExternalMediaTargets map[string][]string

// ParseExternalMediaTargets reads CALLGW_EXTERNAL_MEDIA:
// "tenant=entry,entry;tenant=entry", e.g.
// "acme=10.0.0.5:4000,10.1.0.0/16;globex=bot.example.com:9092,ws:globex-bot".
func ParseExternalMediaTargets(s string) (ExternalMediaTargets, error) {
	out := ExternalMediaTargets{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tenant, list, ok := strings.Cut(part, "=")
		tenant = strings.TrimSpace(tenant)
		if !ok || (tenant != "*" && !ValidTenant(tenant)) {
			return nil, Invalid("external_media", "%q: want tenant=host:port,cidr,… (tenant * for every tenant)", part)
		}
		for _, e := range strings.Split(list, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if err := checkTargetEntry(e); err != nil {
				return nil, Invalid("external_media", "%s: %q: %v", tenant, e, err)
			}
			out[tenant] = append(out[tenant], e)
		}
	}
	return out, nil
}

func checkTargetEntry(e string) error {
	if id, ok := strings.CutPrefix(e, "ws:"); ok {
		if !wsConnRe.MatchString(id) {
			return Invalid("external_media", "not a connection id")
		}
		return nil
	}
	if _, err := netip.ParsePrefix(e); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(e); err == nil {
		return nil
	}
	_, _, err := splitHostPort(e)
	return err
}

// Allows reports whether tenant may send external media over transport to
// host (host:port, or a connection id with websocket).
func (t ExternalMediaTargets) Allows(tenant, transport, host string) bool {
	for _, e := range slices.Concat(t[tenant], t["*"]) {
		if targetMatches(e, transport, host) {
			return true
		}
	}
	return false
}

func targetMatches(e, transport, host string) bool {
	if id, ok := strings.CutPrefix(e, "ws:"); ok {
		return transport == TransportWebSocket && id == host
	}
	if transport == TransportWebSocket {
		return false
	}
	if strings.EqualFold(e, host) {
		return true
	}
	h, _, err := splitHostPort(host)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(h)
	if err != nil {
		return false // a name matches its host:port entry only
	}
	if p, err := netip.ParsePrefix(e); err == nil {
		return p.Contains(addr.Unmap())
	}
	if a, err := netip.ParseAddr(e); err == nil {
		return a.Unmap() == addr.Unmap()
	}
	return false
}

// extMedia finds the ExternalMediaControl of a node's PBX.
func extMedia(p Ports) (ExternalMediaControl, error) {
	if x, ok := p.PBX.(ExternalMediaControl); ok {
		return x, nil
	}
	return nil, Errorf(CodeNotImplemented, "node %s cannot send a call's audio to external media", p.Node)
}

// extMediaSpecs are the external media actions.
var extMediaSpecs = []*Spec{
	def(Spec{Action: ActCallExternalMedia, ID: IDCall, Creates: true, Port: PortCalls, REST: []string{"POST /v1/calls/{id}/external-media"}},
		func(ctx context.Context, p Ports, cmd *Command, a *ExternalMediaArgs) (*ExternalMedia, error) {
			x, err := extMedia(p)
			if err != nil {
				return nil, err
			}
			return x.StartExternalMedia(ctx, cmd.Tenant, cmd.CallID, *a)
		}),
	def(Spec{Action: ActCallExternalMediaStop, ID: IDCall, Port: PortCalls, REST: []string{"DELETE /v1/calls/{id}/external-media/{media_id}"}},
		func(ctx context.Context, p Ports, cmd *Command, a *ExternalMediaStopArgs) (none, error) {
			x, err := extMedia(p)
			if err != nil {
				return none{}, err
			}
			return none{}, x.StopExternalMedia(ctx, cmd.Tenant, cmd.CallID, a.MediaID)
		}),
}
