package worker

import (
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgw/callgw/amqpbus"
	"github.com/callgw/callgw/asterisk"
	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/ops"
	"github.com/callgw/callgw/worker/journal"
)

// DrainTimeout bounds how long a stopping worker waits for its commands in
// flight (a wait=answered originate holds its command until answered)
// before it announces node.down and closes.
const DrainTimeout = 30 * time.Second

// JournalPath is where a worker keeps its idempotency journal in dir:
// one file per node (and bus prefix), so that workers of several nodes
// can share a directory.
func JournalPath(dir, prefix, node string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, prefix+node+".journal")
}

// Parts are what a worker is made of; cmd/internal/stack wires them from
// the configuration. Bus must already serve the node's commands through
// InFlight (amqpbus.Bus.ServeCommands), and PBX publish its events through
// a JournalSink of Keyed.
type Parts struct {
	Node      callapi.NodeID
	Bus       *amqpbus.Bus
	PBX       *asterisk.PBX
	Announcer *Announcer
	InFlight  *InFlight
	Keyed     *Keyed
	Metrics   *Metrics
	// JournalPath is the journal's file ("": memory only); Window how
	// long it keeps a record.
	JournalPath string
	Window      time.Duration
	OpsAddr     string // the ops endpoint ("": none)
	ARIURL, App string // for the log

	Log *zap.Logger
}

// Worker is one node's worker: the bus, the PBX adapter, the command chain
// (see the package doc) and the heartbeat announcer.
type Worker struct {
	p   Parts
	log *zap.Logger
	// ops is the worker's registry (its ops endpoint).
	ops *prometheus.Registry
}

// New returns the worker of p; it does no I/O until Run.
func New(p Parts) (*Worker, error) {
	w := &Worker{p: p, log: p.Log.With(zap.String("node", string(p.Node))), ops: ops.NewRegistry()}
	ops.RegisterBus(prometheus.WrapRegistererWith(prometheus.Labels{"node": string(p.Node)}, w.ops), p.Bus)
	p.Announcer.Sink = p.Metrics.Heartbeats(p.Announcer.Sink) // callgw_ari_connected follows the beats
	if err := w.Register(w.ops); err != nil {
		return nil, err
	}
	return w, nil
}

// Register adds the worker's own metrics (commands per action, ARI
// requests, connectivity and counters, call outcomes, labelled with the
// node; not the bus's, which a gateway in the same process exports under
// the same names) to r: callgw dev serves them on the gateway's ops
// endpoint.
func (w *Worker) Register(r prometheus.Registerer) error {
	return w.p.Metrics.Register(r, w.p.Node, w.p.PBX)
}

// openJournal opens the worker's journal for Keyed.
func (w *Worker) openJournal() (*journal.Journal, error) {
	j, err := journal.Open(w.p.JournalPath, w.p.Window, uuidString())
	if err != nil {
		return nil, err
	}
	w.p.Keyed.j = j
	if j.Durable() {
		w.log.Info("idempotency journal open", zap.String("path", w.p.JournalPath), zap.Int("records", j.Len()), zap.Duration("window", j.Window()))
	} else {
		w.log.Warn("idempotency journal in memory only (no state directory): a retry after this worker's restart may place a second call")
	}
	return j, nil
}
