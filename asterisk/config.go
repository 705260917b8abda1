package asterisk

import (
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// Channel variables callgw reads and sets.
const (
	VarTenant    = "CALLGW_TENANT"    // tenant of the call (inbound: set in the dialplan to override Config.Tenant)
	VarTags      = "CALLGW_TAGS"      // comma-separated tags of an originated call
	VarDirection = "CALLGW_DIRECTION" // "outbound" on originated calls
)

// Config configures a PBX. Node, URL, User, Password and App are required.
type Config struct {
	Node     callapi.NodeID
	URL      string // http://host:8088/ari
	User     string
	Password string
	App      string // Stasis application, e.g. "callgw"
	// Tenant is the default tenant of inbound calls; the channel variable
	// CALLGW_TENANT overrides it. Empty means callapi.DefaultTenant.
	Tenant string
	// EndpointTenant says which tenant owns an endpoint (Technology/resource):
	// the tenant of the text messages it receives, the only one that may send
	// it messages. nil: every endpoint is Tenant's.
	EndpointTenant func(endpoint string) string
	// ResourceTenants says which tenants the events of a node resource (an
	// endpoint, a device state, a mailbox: kind as callapi.NameScope names
	// it) go to: each gets its own copy. nil, or no tenant: Tenant only.
	ResourceTenants func(kind, name string) []string
	// MessageTechs are the technologies whose endpoints' text messages the
	// app subscribes to on connect (eventSource endpoint:<tech>) [PJSIP].
	MessageTechs []string
	// ExternalMedia lists where each tenant may send a call's audio
	// (callapi.ExternalMediaTargets); empty: nowhere.
	ExternalMedia callapi.ExternalMediaTargets
	Log           *zap.Logger // nil = nop

	// Optional tuning; zero values take the defaults in brackets.
	RequestTimeout time.Duration // per ARI REST call whose ctx has no deadline [5s]
	MaxConns       int           // ARI REST connection pool per host [64]
	// MaxPlacing is how many originates may be being placed on Asterisk
	// at once (their POST /channels in flight); the others wait their
	// turn in arrival order, or until their deadline. A call that rings
	// holds no place [32].
	MaxPlacing int
	// MaxPlacingWait is how long an originate may have to wait for its
	// turn: while the last one given a place had waited longer, new
	// originates are refused at once (node_unavailable, nothing placed,
	// retryable), so that a burst is served first come first served
	// within the callers' deadlines instead of every call waiting for all
	// the others [250ms].
	MaxPlacingWait time.Duration
	ReconnectMin   time.Duration // first reconnect delay [100ms]
	ReconnectMax   time.Duration // longest reconnect delay [250ms: a dial every 125–250 ms while Asterisk is away, so the worker is back well within 1 s of its return, also on a loaded host]
	PublishTimeout time.Duration // per EventSink.PublishEvent [5s]
	EnqueueTimeout time.Duration // how long ARI intake waits for a full call queue before dropping [2s]
	Shards         int           // event workers; a call's events always go to the same one [32]
	QueueSize      int           // ARI events buffered per worker [256]
	// PublishWindow is how many published CallAPI events a worker may have
	// waiting for the broker's confirm when the sink confirms
	// asynchronously (amqpbus.Bus does); it waits only when the window is
	// full. 1 publishes synchronously, one confirm at a time [256].
	PublishWindow int
	// Observer, when set, is told of every ARI REST request and every call
	// that ended (metrics: see worker/metrics.go).
	Observer Observer
}

// Observer receives the adapter's measurements. Its methods are called
// from the request and event paths and must return promptly.
type Observer interface {
	// ARIRequest is one ARI REST call: its method, the route with ids
	// replaced by {id} (a bounded label), the HTTP status (0 when no
	// answer came) and how long it took.
	ARIRequest(method, route string, status int, d time.Duration)
	// CallEnded is a call's end: its Q.850 cause and who or what ended it
	// (the reason of call.hangup).
	CallEnded(cause int, reason string)
}

func (c *Config) validate() error {
	switch {
	case !callapi.ValidNodeID(string(c.Node)):
		return callapi.Invalid("node", "%q is not a valid node id", c.Node)
	case c.URL == "":
		return callapi.Invalid("url", "ARI URL required (http://host:8088/ari)")
	case c.App == "":
		return callapi.Invalid("app", "Stasis application name required")
	case c.User == "":
		return callapi.Invalid("user", "ARI user required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return callapi.Invalid("url", "%q is not an http(s) URL", c.URL)
	}
	if c.Tenant == "" {
		c.Tenant = callapi.DefaultTenant
	}
	if !callapi.ValidTenant(c.Tenant) {
		return callapi.Invalid("tenant", "%q is not a valid tenant", c.Tenant)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MessageTechs == nil {
		c.MessageTechs = []string{"PJSIP"}
	}
	def(&c.RequestTimeout, 5*time.Second)
	def(&c.ReconnectMin, 100*time.Millisecond)
	def(&c.ReconnectMax, 250*time.Millisecond)
	def(&c.PublishTimeout, 5*time.Second)
	def(&c.EnqueueTimeout, 2*time.Second)
	def(&c.MaxPlacingWait, 250*time.Millisecond)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 64
	}
	if c.MaxPlacing <= 0 {
		c.MaxPlacing = 32
	}
	if c.Shards <= 0 {
		c.Shards = 32
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.PublishWindow <= 0 {
		c.PublishWindow = 256
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	return nil
}
