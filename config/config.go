package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/restapi"
	"github.com/callgw/callgw/worker/journal"
)

// Defaults of the fixed options (DESIGN.md "Configuration").
const (
	DefaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultARIApp  = "callgw"
	// DefaultSimAddr is where callgw dev's simulator listens: Asterisk's
	// own ARI port, so that URLs look the same.
	DefaultSimAddr = "127.0.0.1:8088"
	// DefaultMaxPendingCreates is a gateway's bound on the new calls and
	// bridges it waits on per node: a worker's default concurrency, so
	// that one gateway never queues new calls in the broker behind what
	// the node runs.
	DefaultMaxPendingCreates = callapi.DefaultConcurrency
)

// Common holds the options every subcommand shares.
type Common struct {
	AMQPURLs []string // CALLGW_AMQP_URL, comma-separated
	LogLevel string   // CALLGW_LOG_LEVEL
	Prefix   string   // CALLGW_AMQP_PREFIX: prefix of every exchange and queue name
	// MetricsAddr serves /metrics, /healthz, /readyz and /debug/pprof/
	// (CALLGW_METRICS_ADDR; empty: off).
	MetricsAddr string
	// Batching: when gateways send commands to a node in batches
	// (CALLGW_AMQP_BATCHING: auto, on, off; docs/protocol.md §7).
	Batching string
	// Input rules (callapi.InputRules), read by the gateway (early 400s)
	// and by the worker (the trust boundary): give both the same values.
	MediaHosts        []string // CALLGW_MEDIA_HOSTS: hosts http(s) media may come from
	VariableFunctions []string // CALLGW_VARIABLE_FUNCTIONS: dialplan functions usable as variable names
	// Tenants are the node resources (endpoints, device states, mailboxes,
	// global variables) of each tenant, read from TenantsFile
	// (CALLGW_TENANTS_FILE): the gateway confines each tenant's token to
	// them, the worker routes their events to the tenants they match. Give
	// gateways and workers the same file. Empty: only admin tokens see node
	// resources, and their events go to the worker's tenant.
	TenantsFile string
	Tenants     callapi.TenantScopes
}

// Rules returns the input rules of these options.
func (c *Common) Rules() *callapi.InputRules {
	return &callapi.InputRules{MediaHosts: c.MediaHosts, VariableFunctions: c.VariableFunctions}
}

// Gateway holds the gateway's options.
type Gateway struct {
	Common
	// HTTPAddr is where the REST CallAPI listens (CALLGW_HTTP_ADDR; empty:
	// DefaultHTTPAddr with auth, DefaultHTTPAddrOpen, loopback, without).
	HTTPAddr string
	// AllowUnauthenticated lets a gateway without auth listen beyond
	// loopback (CALLGW_ALLOW_UNAUTHENTICATED).
	AllowUnauthenticated bool
	DefaultTimeout       time.Duration // CALLGW_DEFAULT_TIMEOUT
	// MaxPendingCreates bounds the new calls and bridges a gateway waits
	// on per node (CALLGW_MAX_PENDING_CREATES; 0: no bound).
	MaxPendingCreates int
	MaxTimeout        time.Duration // CALLGW_MAX_TIMEOUT
	// Auth: enabled when AuthClientsFile is set.
	AuthClientsFile string        // CALLGW_AUTH_CLIENTS_FILE
	AuthSigningKey  string        // CALLGW_AUTH_SIGNING_KEY (>= 32 bytes)
	AuthTokenTTL    time.Duration // CALLGW_AUTH_TOKEN_TTL
	// AuthMaxTokenLifetime refuses any token living longer (exp - iat) or
	// older than this (CALLGW_AUTH_MAX_TOKEN_LIFETIME).
	AuthMaxTokenLifetime  time.Duration
	AuthFailuresPerMinute int           // CALLGW_AUTH_FAILURES_PER_MINUTE: failed token requests refilled per client id and per address
	AuthFailureBurst      int           // CALLGW_AUTH_FAILURE_BURST: failed token requests allowed at once
	AuthClients           []AuthClient  // read from AuthClientsFile (and re-read on change or SIGHUP)
	AccessLog             string        // CALLGW_ACCESS_LOG: all, errors, off
	StreamsPerToken       int           // CALLGW_STREAMS_PER_TOKEN: open event streams per token
	StreamsPerTenant      int           // CALLGW_STREAMS_PER_TENANT: open event streams per tenant, all gateways' tokens of it on this gateway
	CORSOrigins           []string      // CALLGW_CORS_ORIGINS: browser origins allowed (comma-separated)
	WSOrigins             []string      // CALLGW_WS_ORIGINS: extra WebSocket origin host patterns
	CallRecords           int           // CALLGW_CALL_RECORDS: ended calls kept readable per tenant (0: off)
	CallRecordsTTL        time.Duration // CALLGW_CALL_RECORDS_TTL: how long
	// WebhooksOn serves /v1/webhooks from the webhook store in RabbitMQ
	// (CALLGW_WEBHOOKS); delivery needs `callgw webhooks` processes.
	WebhooksOn bool
	Webhook    Webhooks
	// Event history: one RabbitMQ stream per tenant (amqpbus.HistoryConfig).
	HistoryMaxAge    time.Duration // CALLGW_HISTORY_MAX_AGE
	HistoryMaxMB     int           // CALLGW_HISTORY_MAX_MB: size bound per tenant; 0: no history streams
	HistorySegmentMB int           // CALLGW_HISTORY_SEGMENT_MB
}

// Webhooks holds the webhook options that the gateway (which checks a
// target when a subscription is created or changed) and the delivery
// processes (`callgw webhooks`, which check it again at every connection)
// share; give both the same values.
type Webhooks struct {
	AllowHTTP     bool   // CALLGW_WEBHOOK_ALLOW_HTTP: http:// targets anywhere (dev)
	AllowLoopback bool   // CALLGW_WEBHOOK_ALLOW_LOOPBACK: loopback targets (http allowed there)
	AllowPrivate  bool   // CALLGW_WEBHOOK_ALLOW_PRIVATE: private, shared, link-local and metadata addresses
	QueueType     string // CALLGW_WEBHOOK_QUEUE_TYPE: quorum or classic
	// Delivery only (`callgw webhooks`):
	Timeout     time.Duration // CALLGW_WEBHOOK_TIMEOUT: one POST, connection to answer
	MaxResponse int           // CALLGW_WEBHOOK_MAX_RESPONSE: bytes of an answer read
	RetryBase   time.Duration // CALLGW_WEBHOOK_RETRY_BASE: first retry delay
	RetryMax    time.Duration // CALLGW_WEBHOOK_RETRY_MAX: longest retry delay
	MaxAge      time.Duration // CALLGW_WEBHOOK_MAX_AGE: dead-lettered this long after the first attempt
}

// Delivery holds the options of `callgw webhooks`, a delivery process.
type Delivery struct {
	Common
	Webhook Webhooks
}

// AuthClient is one OAuth2 client as written in the clients file (JSON):
//
//	[{"id": "acme-app", "secret_hash": "$argon2id$v=19$m=19456,t=2,p=1$…$…", "tenant": "acme",
//	  "scopes": ["calls:read", "calls:write", "events:read"]}]
//
// `callgw hash-secret` prints the secret_hash of a secret. "disabled": true
// refuses the client and every token it holds.
type AuthClient struct {
	ID         string   `json:"id"`
	SecretHash string   `json:"secret_hash"`
	Tenant     string   `json:"tenant"`
	Scopes     []string `json:"scopes"`
	Disabled   bool     `json:"disabled,omitempty"`
}

// MaxClientsFile bounds the size of the clients file.
const MaxClientsFile = 4 << 20

// ParseAuthClients decodes a clients file (strictly: unknown fields are
// errors). It checks only the JSON shape; restapi checks the clients.
func ParseAuthClients(b []byte) ([]AuthClient, error) {
	if len(b) > MaxClientsFile {
		return nil, fmt.Errorf("larger than %d bytes", MaxClientsFile)
	}
	var out []AuthClient
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the client list")
	}
	if len(out) == 0 {
		return nil, errors.New("lists no client")
	}
	return out, nil
}

// ReadAuthClients reads and decodes the clients file at path.
func ReadAuthClients(path string) ([]AuthClient, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: auth-clients-file: %w", err)
	}
	clients, err := ParseAuthClients(b)
	if err != nil {
		return nil, fmt.Errorf("config: auth-clients-file %s: %w", path, err)
	}
	return clients, nil
}

// Worker holds a worker's options.
type Worker struct {
	Common
	NodeID            string        // CALLGW_NODE_ID
	ARIURL            string        // CALLGW_ARI_URL
	ARIUser           string        // CALLGW_ARI_USER
	ARIPassword       string        // CALLGW_ARI_PASSWORD
	ARIApp            string        // CALLGW_ARI_APP
	Tenant            string        // CALLGW_TENANT: tenant of inbound calls
	HeartbeatInterval time.Duration // CALLGW_HEARTBEAT_INTERVAL
	Concurrency       int           // CALLGW_CONCURRENCY
	// StateDir holds the worker's idempotency journal (CALLGW_STATE_DIR);
	// "" keeps it in memory only (it does not survive the process).
	StateDir string
	// IdempotencyWindow is how long the journal keeps a keyed originate
	// (CALLGW_IDEMPOTENCY_WINDOW).
	IdempotencyWindow time.Duration
	// ExternalMediaRaw is CALLGW_EXTERNAL_MEDIA, ExternalMedia its parse:
	// where each tenant may send a call's audio (empty: nowhere).
	ExternalMediaRaw string
	ExternalMedia    callapi.ExternalMediaTargets
}

// Dev holds the options of `callgw dev`: a gateway and a worker in one
// process, against the built-in simulator unless CALLGW_ARI_URL is set.
type Dev struct {
	Gateway
	Worker
	SimAddr string // CALLGW_SIM_ADDR
	// Delivery is the webhook options of dev's delivery process (and of
	// its gateway): webhooks are on, and http and loopback targets allowed.
	Delivery Webhooks
}

// set declares options on a FlagSet with their environment variables.
type set struct {
	fs   *flag.FlagSet
	env  func(string) string
	errs []error
	envs map[string]string // flag name -> env var, for usage
}

func newSet(name string, env func(string) string, out io.Writer) *set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	s := &set{fs: fs, env: env, envs: map[string]string{}}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: callgw %s [flags]\n\nEvery flag can also be set by the environment variable named in brackets;\na flag given on the command line wins over the environment.\n\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			def := fmt.Sprintf("%q", f.DefValue)
			if (strings.Contains(f.Name, "password") || strings.Contains(f.Name, "key")) && f.DefValue != "" {
				def = "(set)" // never print a secret
			}
			fmt.Fprintf(out, "  --%s [%s]\n    \t%s (default %s)\n", f.Name, s.envs[f.Name], f.Usage, def)
		})
	}
	return s
}

func (s *set) str(p *string, name, env, def, usage string) {
	s.envs[name] = env
	if v := s.env(env); v != "" {
		def = v
	}
	s.fs.StringVar(p, name, def, usage)
}

func (s *set) dur(p *time.Duration, name, env string, def time.Duration, usage string) {
	s.envs[name] = env
	if v := s.env(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("config: %s=%q: %w", env, v, err))
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, usage)
}

func (s *set) num(p *int, name, env string, def int, usage string) {
	s.envs[name] = env
	if v := s.env(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("config: %s=%q: %w", env, v, err))
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, usage)
}

func (s *set) boolean(p *bool, name, env, usage string) {
	s.envs[name] = env
	def := false
	if v := s.env(env); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("config: %s=%q: %w", env, v, err))
		}
		def = b
	}
	s.fs.BoolVar(p, name, def, usage)
}

func (s *set) parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("config: unexpected argument %q", s.fs.Arg(0))
	}
	return errors.Join(s.errs...)
}

type commonRaw struct{ urls, mediaHosts, varFuncs string }

// TenantResources is one tenant's entry in the tenants file: glob patterns
// (* ? [..]) over the names of the node resources it sees and changes.
//
//	{"acme": {"endpoints": ["PJSIP/acme-*"], "device_states": ["Stasis:acme-*"],
//	          "mailboxes": ["*@acme"], "globals": ["ACME_*"]}}
type TenantResources struct {
	Endpoints    []string `json:"endpoints,omitempty"`
	DeviceStates []string `json:"device_states,omitempty"`
	Mailboxes    []string `json:"mailboxes,omitempty"`
	Globals      []string `json:"globals,omitempty"`
}

// MaxTenantsFile bounds the size of the tenants file.
const MaxTenantsFile = 4 << 20

// ParseTenants decodes and checks a tenants file (strictly: unknown fields
// are errors).
func ParseTenants(b []byte) (callapi.TenantScopes, error) {
	if len(b) > MaxTenantsFile {
		return nil, fmt.Errorf("larger than %d bytes", MaxTenantsFile)
	}
	var in map[string]TenantResources
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the tenants object")
	}
	out := make(callapi.TenantScopes, len(in))
	for t, r := range in {
		out[t] = callapi.NameScope{Endpoints: r.Endpoints, DeviceStates: r.DeviceStates, Mailboxes: r.Mailboxes, Variables: r.Globals}
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadTenants reads and decodes the tenants file at path.
func ReadTenants(path string) (callapi.TenantScopes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: tenants-file: %w", err)
	}
	ts, err := ParseTenants(b)
	if err != nil {
		return nil, fmt.Errorf("config: tenants-file %s: %w", path, err)
	}
	return ts, nil
}

func (s *set) common(c *Common, raw *commonRaw) {
	s.str(&raw.urls, "amqp-url", "CALLGW_AMQP_URL", DefaultAMQPURL, "RabbitMQ URL(s), comma-separated: connections fail over between them")
	s.str(&c.LogLevel, "log-level", "CALLGW_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	s.str(&c.Prefix, "amqp-prefix", "CALLGW_AMQP_PREFIX", "", "prefix of every exchange and queue name (isolates deployments sharing a broker)")
	s.str(&c.MetricsAddr, "metrics-addr", "CALLGW_METRICS_ADDR", "", "address of the ops endpoint: /metrics, /healthz, /readyz, /debug/pprof/ (empty: off; never served on the API port)")
	s.str(&c.Batching, "amqp-batching", "CALLGW_AMQP_BATCHING", "auto", "command batching to nodes: auto (to nodes announcing protocol 2), on, off (one command per message, protocol 1)")
	s.str(&raw.mediaHosts, "media-hosts", "CALLGW_MEDIA_HOSTS", "", "comma-separated hosts (or host:port) that http(s) media URIs may point to (empty: no http(s) media)")
	s.str(&c.TenantsFile, "tenants-file", "CALLGW_TENANTS_FILE", "", "JSON file of each tenant's node resources by name pattern (endpoints, device_states, mailboxes, globals); give gateways and workers the same (empty: node resources for admin tokens only)")
	s.str(&raw.varFuncs, "variable-functions", "CALLGW_VARIABLE_FUNCTIONS", "", "comma-separated dialplan functions allowed as channel variable names, e.g. CALLERID,PJSIP_HEADER (empty: plain names only)")
}

// list splits a comma-separated option, dropping empty items.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (c *Common) finish(raw commonRaw) error {
	for _, u := range strings.Split(raw.urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			if !strings.HasPrefix(u, "amqp://") && !strings.HasPrefix(u, "amqps://") {
				return fmt.Errorf("config: amqp-url %q: must start with amqp:// or amqps://", u)
			}
			c.AMQPURLs = append(c.AMQPURLs, u)
		}
	}
	if len(c.AMQPURLs) == 0 {
		return errors.New("config: amqp-url: at least one broker URL is required")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log-level %q: must be debug, info, warn or error", c.LogLevel)
	}
	switch c.Batching {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("config: amqp-batching %q: must be auto, on or off", c.Batching)
	}
	c.MediaHosts, c.VariableFunctions = list(raw.mediaHosts), list(raw.varFuncs)
	for _, h := range c.MediaHosts {
		if strings.ContainsAny(h, "/@\\ *") {
			return fmt.Errorf("config: media-hosts %q: give a host name, address or host:port", h)
		}
	}
	for _, f := range c.VariableFunctions {
		if strings.ContainsAny(f, "() ") {
			return fmt.Errorf("config: variable-functions %q: give a function name without parentheses", f)
		}
	}
	if c.TenantsFile != "" {
		ts, err := ReadTenants(c.TenantsFile)
		if err != nil {
			return err
		}
		c.Tenants = ts
	}
	return nil
}

func (s *set) gateway(g *Gateway) {
	d := restapi.DefaultConfig() // the HTTP layer's own defaults, applied when a field is zero
	s.str(&g.HTTPAddr, "http-addr", "CALLGW_HTTP_ADDR", "", "address the REST CallAPI listens on (empty: "+DefaultHTTPAddr+" with auth on, "+DefaultHTTPAddrOpen+" with it off)")
	s.boolean(&g.AllowUnauthenticated, "allow-unauthenticated", "CALLGW_ALLOW_UNAUTHENTICATED", "with auth off, listen on a non-loopback http-addr anyway (everyone reaching it acts for tenant default with every scope)")
	s.dur(&g.DefaultTimeout, "default-timeout", "CALLGW_DEFAULT_TIMEOUT", d.DefaultTimeout, "deadline of a command when the request names none")
	s.dur(&g.MaxTimeout, "max-timeout", "CALLGW_MAX_TIMEOUT", d.MaxTimeout, "longest deadline a request may ask for")
	s.num(&g.MaxPendingCreates, "max-pending-creates", "CALLGW_MAX_PENDING_CREATES", DefaultMaxPendingCreates, "new calls and bridges (originate, call and bridge creation) this gateway waits on at once per node (and for the shared queue); past it: 503 node_unavailable with Retry-After at once, so that a burst (every client retrying after an outage) is served first come first served within its deadlines instead of queueing; commands about existing calls are never refused; 0: no bound")
	s.str(&g.AuthClientsFile, "auth-clients-file", "CALLGW_AUTH_CLIENTS_FILE", "", "JSON file of OAuth2 clients; setting it turns token auth on (off: every request acts for tenant default)")
	s.str(&g.AuthSigningKey, "auth-signing-key", "CALLGW_AUTH_SIGNING_KEY", "", "HS256 key of issued tokens, at least 32 bytes (required with auth)")
	s.dur(&g.AuthTokenTTL, "auth-token-ttl", "CALLGW_AUTH_TOKEN_TTL", d.Auth.TokenTTL, "lifetime of issued tokens")
	s.dur(&g.AuthMaxTokenLifetime, "auth-max-token-lifetime", "CALLGW_AUTH_MAX_TOKEN_LIFETIME", d.Auth.MaxTokenLifetime, "tokens living (exp - iat) or aged longer than this are refused, whatever they say; >= auth-token-ttl")
	s.num(&g.AuthFailuresPerMinute, "auth-failures-per-minute", "CALLGW_AUTH_FAILURES_PER_MINUTE", d.Auth.FailuresPerMinute, "failed token requests allowed per minute, per client id and per client address (past the burst: 429)")
	s.num(&g.AuthFailureBurst, "auth-failure-burst", "CALLGW_AUTH_FAILURE_BURST", d.Auth.FailureBurst, "failed token requests allowed in a row before the per-minute rate applies")
	s.num(&g.StreamsPerToken, "streams-per-token", "CALLGW_STREAMS_PER_TOKEN", d.Streams.PerToken, "open event streams (SSE and WebSocket) one token may hold; past it: 429")
	s.num(&g.StreamsPerTenant, "streams-per-tenant", "CALLGW_STREAMS_PER_TENANT", d.Streams.PerTenant, "open event streams (SSE and WebSocket) all tokens of one tenant may hold on this gateway; past it: 429")
	s.str(&g.AccessLog, "access-log", "CALLGW_ACCESS_LOG", "all", "which requests are logged: all, errors (status >= 400 or slower than 1s) or off; metrics count all")
	s.list(&g.CORSOrigins, "cors-origins", "CALLGW_CORS_ORIGINS", "browser origins (scheme://host[:port], comma-separated, or *) that may call the API and open the event streams")
	s.num(&g.CallRecords, "call-records", "CALLGW_CALL_RECORDS", 10000, "ended calls kept readable with their outcome (GET /v1/calls/{id}, ?state=ended), per tenant (10 times as many in all); kept in memory, rebuilt from the tenant's event history stream when first read after a restart; 0: off")
	s.dur(&g.CallRecordsTTL, "call-records-ttl", "CALLGW_CALL_RECORDS_TTL", time.Hour, "how long an ended call stays readable")
	s.dur(&g.HistoryMaxAge, "history-max-age", "CALLGW_HISTORY_MAX_AGE", 24*time.Hour, "how long each tenant's event history stream keeps events (x-max-age, whole segments), for resume on any gateway, since= and call records after a restart")
	s.num(&g.HistoryMaxMB, "history-max-mb", "CALLGW_HISTORY_MAX_MB", 256, "size bound of each tenant's event history stream in MiB (x-max-length-bytes); 0: no history streams (resume from the serving gateway's memory only)")
	s.num(&g.HistorySegmentMB, "history-segment-mb", "CALLGW_HISTORY_SEGMENT_MB", 8, "segment size of the history streams in MiB (x-stream-max-segment-size-bytes): retention removes whole segments")
	s.list(&g.WSOrigins, "ws-origins", "CALLGW_WS_ORIGINS", "host patterns (*.example.com) of further browser origins allowed on the WebSocket stream")
}

func (s *set) webhooks(w *Webhooks, delivery bool) {
	s.boolean(&w.AllowHTTP, "webhook-allow-http", "CALLGW_WEBHOOK_ALLOW_HTTP", "accept http:// webhook targets anywhere (dev; default: https except to loopback)")
	s.boolean(&w.AllowLoopback, "webhook-allow-loopback", "CALLGW_WEBHOOK_ALLOW_LOOPBACK", "accept webhook targets on loopback addresses (127.0.0.0/8, ::1)")
	s.boolean(&w.AllowPrivate, "webhook-allow-private", "CALLGW_WEBHOOK_ALLOW_PRIVATE", "accept webhook targets on private, shared (100.64/10), link-local and cloud-metadata addresses")
	s.str(&w.QueueType, "webhook-queue-type", "CALLGW_WEBHOOK_QUEUE_TYPE", "quorum", "type of each subscription's delivery and dead queues: quorum (replicated) or classic (cheaper; one broker node); the same in every process")
	if !delivery {
		return
	}
	s.dur(&w.Timeout, "webhook-timeout", "CALLGW_WEBHOOK_TIMEOUT", 10*time.Second, "longest POST, from connecting to the end of the answer")
	s.num(&w.MaxResponse, "webhook-max-response", "CALLGW_WEBHOOK_MAX_RESPONSE", 64<<10, "bytes of a receiver's answer read at most (the rest is not read)")
	s.dur(&w.RetryBase, "webhook-retry-base", "CALLGW_WEBHOOK_RETRY_BASE", 5*time.Second, "delay before the first retry; doubled after each failure, with jitter")
	s.dur(&w.RetryMax, "webhook-retry-max", "CALLGW_WEBHOOK_RETRY_MAX", time.Hour, "longest delay between two attempts")
	s.dur(&w.MaxAge, "webhook-max-age", "CALLGW_WEBHOOK_MAX_AGE", 24*time.Hour, "a delivery still failing this long after its first attempt goes to the subscription's dead queue")
}

func (w *Webhooks) finish(delivery bool) error {
	if w.QueueType != "quorum" && w.QueueType != "classic" {
		return fmt.Errorf("config: webhook-queue-type %q: must be quorum or classic", w.QueueType)
	}
	if !delivery {
		return nil
	}
	if w.Timeout <= 0 || w.MaxResponse < 1 || w.RetryBase <= 0 || w.RetryMax < w.RetryBase || w.MaxAge <= 0 {
		return errors.New("config: webhook-timeout, webhook-max-response, webhook-retry-base and webhook-max-age must be > 0, webhook-retry-max >= webhook-retry-base")
	}
	return nil
}

// LoadDelivery parses the options of `callgw webhooks`.
func LoadDelivery(args []string, env func(string) string, out io.Writer) (*Delivery, error) {
	var d Delivery
	var raw commonRaw
	s := newSet("webhooks", env, out)
	s.common(&d.Common, &raw)
	s.webhooks(&d.Webhook, true)
	if err := s.parse(args); err != nil {
		return nil, err
	}
	if err := d.Common.finish(raw); err != nil {
		return nil, err
	}
	return &d, d.Webhook.finish(true)
}

// list is a comma-separated string setting.
func (s *set) list(p *[]string, name, env, usage string) {
	s.envs[name] = env
	split := func(raw string) []string {
		var out []string
		for _, v := range strings.Split(raw, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	*p = split(s.env(env))
	s.fs.Func(name, usage, func(v string) error { *p = split(v); return nil })
}

func (g *Gateway) finish() error {
	if g.DefaultTimeout <= 0 || g.MaxTimeout < g.DefaultTimeout {
		return errors.New("config: default-timeout must be > 0 and <= max-timeout")
	}
	if g.MaxPendingCreates < 0 {
		return errors.New("config: max-pending-creates must be >= 0")
	}
	if g.CallRecords < 0 || g.CallRecordsTTL <= 0 {
		return errors.New("config: call-records must be >= 0 and call-records-ttl > 0")
	}
	if g.HistoryMaxAge <= 0 || g.HistoryMaxMB < 0 || g.HistorySegmentMB < 1 || (g.HistoryMaxMB > 0 && g.HistorySegmentMB > g.HistoryMaxMB) {
		return errors.New("config: history-max-age must be > 0, history-max-mb >= 0 and history-segment-mb between 1 and history-max-mb")
	}
	switch g.AccessLog {
	case "all", "errors", "off":
	default:
		return fmt.Errorf("config: access-log %q: must be all, errors or off", g.AccessLog)
	}
	if g.StreamsPerToken < 1 || g.StreamsPerTenant < 1 {
		return errors.New("config: streams-per-token and streams-per-tenant must be at least 1")
	}
	if g.AuthFailuresPerMinute < 1 || g.AuthFailureBurst < 1 {
		return errors.New("config: auth-failures-per-minute and auth-failure-burst must be at least 1")
	}
	if g.AuthTokenTTL <= 0 || g.AuthMaxTokenLifetime < g.AuthTokenTTL {
		return errors.New("config: auth-token-ttl must be > 0 and <= auth-max-token-lifetime")
	}
	if err := g.Webhook.finish(false); err != nil {
		return err
	}
	if err := g.checkExposure(); err != nil || g.AuthClientsFile == "" {
		return err
	}
	if err := CheckSigningKey(g.AuthSigningKey); err != nil {
		return err
	}
	var err error
	g.AuthClients, err = ReadAuthClients(g.AuthClientsFile)
	return err
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node1"
	}
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, h)
	if !callapi.ValidNodeID(h) {
		return "node1"
	}
	return h
}

func (s *set) worker(w *Worker, nodeDefault, stateDefault string) {
	s.str(&w.NodeID, "node", "CALLGW_NODE_ID", nodeDefault, "this worker's node id (1-64 of [A-Za-z0-9_-]; a routing-key word)")
	s.str(&w.ARIURL, "ari-url", "CALLGW_ARI_URL", "", "Asterisk ARI base URL, e.g. http://127.0.0.1:8088/ari (dev: empty runs the built-in simulator)")
	s.str(&w.ARIUser, "ari-user", "CALLGW_ARI_USER", "", "ARI user name")
	s.str(&w.ARIPassword, "ari-password", "CALLGW_ARI_PASSWORD", "", "ARI password")
	s.str(&w.ARIApp, "ari-app", "CALLGW_ARI_APP", DefaultARIApp, "Stasis application name")
	s.str(&w.Tenant, "tenant", "CALLGW_TENANT", callapi.DefaultTenant, "tenant of inbound calls (the channel variable CALLGW_TENANT overrides)")
	s.dur(&w.HeartbeatInterval, "heartbeat-interval", "CALLGW_HEARTBEAT_INTERVAL", callapi.DefaultHeartbeatInterval, "interval of node heartbeats; a node missing 3 is down")
	s.num(&w.Concurrency, "concurrency", "CALLGW_CONCURRENCY", callapi.DefaultConcurrency, "commands run concurrently (commands for one call always run in order)")
	s.str(&w.StateDir, "state-dir", "CALLGW_STATE_DIR", stateDefault, "directory of the worker's idempotency journal (node-local, kept across restarts; empty: memory only)")
	s.dur(&w.IdempotencyWindow, "idempotency-window", "CALLGW_IDEMPOTENCY_WINDOW", journal.DefaultWindow, "how long a retry with the same Idempotency-Key is answered from the journal")
	s.str(&w.ExternalMediaRaw, "external-media", "CALLGW_EXTERNAL_MEDIA", "", "where each tenant may send a call's audio (external media): tenant=host:port,ip,cidr,ws:<connection>;tenant=… (tenant * for all; empty: nowhere)")
}

// defaultStateDir is $XDG_STATE_HOME/callgw, else ~/.local/state/callgw,
// else "" (memory only).
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d + "/callgw"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/.local/state/callgw"
	}
	return ""
}

func (w *Worker) finish(needARI bool) error {
	if !callapi.ValidNodeID(w.NodeID) {
		return fmt.Errorf("config: node %q: must be 1-64 of [A-Za-z0-9_-] and not any/all", w.NodeID)
	}
	if needARI && w.ARIURL == "" {
		return errors.New("config: ari-url is required (CALLGW_ARI_URL), e.g. http://127.0.0.1:8088/ari")
	}
	if w.ARIApp == "" || strings.ContainsAny(w.ARIApp, " /?&") {
		return fmt.Errorf("config: ari-app %q is not a valid Stasis application name", w.ARIApp)
	}
	if !callapi.ValidTenant(w.Tenant) {
		return fmt.Errorf("config: tenant %q: must be 1-64 of [A-Za-z0-9_-]", w.Tenant)
	}
	if w.HeartbeatInterval < 100*time.Millisecond {
		return errors.New("config: heartbeat-interval must be at least 100ms")
	}
	if w.Concurrency < 1 {
		return errors.New("config: concurrency must be at least 1")
	}
	if w.IdempotencyWindow < time.Minute {
		return errors.New("config: idempotency-window must be at least 1m")
	}
	em, err := callapi.ParseExternalMediaTargets(w.ExternalMediaRaw)
	if err != nil {
		return fmt.Errorf("config: external-media: %w", err)
	}
	w.ExternalMedia = em
	return nil
}

// LoadGateway parses the gateway's options.
func LoadGateway(args []string, env func(string) string, out io.Writer) (*Gateway, error) {
	var g Gateway
	var raw commonRaw
	s := newSet("gateway", env, out)
	s.common(&g.Common, &raw)
	s.gateway(&g)
	s.boolean(&g.WebhooksOn, "webhooks", "CALLGW_WEBHOOKS", "serve /v1/webhooks (subscriptions kept in RabbitMQ; run `callgw webhooks` processes to deliver)")
	s.webhooks(&g.Webhook, false)
	if err := s.parse(args); err != nil {
		return nil, err
	}
	if err := g.Common.finish(raw); err != nil {
		return nil, err
	}
	return &g, g.finish()
}

// LoadWorker parses a worker's options.
func LoadWorker(args []string, env func(string) string, out io.Writer) (*Worker, error) {
	var w Worker
	var raw commonRaw
	s := newSet("worker", env, out)
	s.common(&w.Common, &raw)
	s.worker(&w, hostname(), defaultStateDir())
	if err := s.parse(args); err != nil {
		return nil, err
	}
	if err := w.Common.finish(raw); err != nil {
		return nil, err
	}
	return &w, w.finish(true)
}

// LoadDev parses the options of `callgw dev`.
func LoadDev(args []string, env func(string) string, out io.Writer) (*Dev, error) {
	var d Dev
	var raw commonRaw
	s := newSet("dev", env, out)
	s.common(&d.Gateway.Common, &raw)
	s.gateway(&d.Gateway)
	s.worker(&d.Worker, "pbx1", "") // dev: its simulated PBX forgets its calls with the process too
	s.webhooks(&d.Delivery, true)
	s.str(&d.SimAddr, "sim-addr", "CALLGW_SIM_ADDR", DefaultSimAddr, "listen address of the built-in ARI simulator (when no ari-url is given; when the default's port is taken, e.g. by an Asterisk, any free port)")
	if err := s.parse(args); err != nil {
		return nil, err
	}
	if err := d.Gateway.Common.finish(raw); err != nil {
		return nil, err
	}
	d.Worker.Common = d.Gateway.Common
	d.Worker.MetricsAddr = "" // one ops endpoint per process: the gateway's
	// dev serves and delivers webhooks, to local receivers over http too.
	d.Delivery.AllowHTTP, d.Delivery.AllowLoopback = true, true
	if err := d.Delivery.finish(true); err != nil {
		return nil, err
	}
	d.Gateway.WebhooksOn, d.Gateway.Webhook = true, d.Delivery
	if err := d.Gateway.finish(); err != nil {
		return nil, err
	}
	return &d, d.Worker.finish(false)
}
