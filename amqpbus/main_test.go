package amqpbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// brokerURL is the shared test broker (testenv.BrokerURL).
func brokerURL() string { return testenv.BrokerURL() }

// needBroker fails (CI=true) or skips the test when the broker is absent.
func needBroker(t testing.TB) {
	t.Helper()
	testenv.NeedBroker(t, brokerURL())
}

// env is one test's world on the shared broker: a unique prefix for every
// exchange and queue, and a unique tag in every connection name.
type env struct {
	t      testing.TB
	prefix string
	names  Names
}

func newEnv(t testing.TB) *env {
	t.Helper()
	needBroker(t)
	var r [4]byte
	_, _ = rand.Read(r[:])
	prefix := "test-" + hex.EncodeToString(r[:]) + "."
	e := &env{t: t, prefix: prefix, names: newNames(prefix)}
	t.Cleanup(e.deleteTopology)
	return e
}

// deleteTopology removes the test's durable exchanges and queues.
func (e *env) deleteTopology() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := DeleteTopology(ctx, brokerURL(), e.prefix); err != nil {
		e.t.Errorf("cleanup: %v", err)
	}
}

// connName is the connection name of the test's bus called role.
func (e *env) connName(role string) string { return "callgw-test " + e.prefix + " " + role }

func (e *env) config(role string) Config {
	return Config{
		URLs:           []string{brokerURL()},
		Prefix:         e.prefix,
		ConnectionName: e.connName(role),
		ReconnectMin:   20 * time.Millisecond,
		ReconnectMax:   500 * time.Millisecond,
		// Every test's gateway batches as a gateway does once it heard a
		// version 2 worker; tests of version 1 messages set BatchOff.
		Batching: BatchOn,
		Log:      zaptest.NewLogger(e.t, zaptest.Level(testLogLevel)).Named(role),
	}
}

// bus starts a Bus (Run in the background, stopped at cleanup) and waits
// until it is ready. mod may change the config first.
func (e *env) bus(role string, mod func(*Config)) *Bus {
	e.t.Helper()
	cfg := e.config(role)
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	stop := runBus(e.t, b)
	e.t.Cleanup(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Ready(ctx); err != nil {
		e.t.Fatalf("bus %s not ready: %v", role, err)
	}
	return b
}

// runBus runs b until the returned stop is called; stop waits for Run.
func runBus(t testing.TB, b *Bus) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return 20s after its context ended")
			}
		})
	}
}

// worker starts a worker bus for node with h.
func (e *env) worker(node callapi.NodeID, h callapi.CommandHandler, opts ServeOptions, mod func(*Config)) *Bus {
	e.t.Helper()
	b := e.bus("worker "+string(node), mod)
	if err := b.ServeCommands(node, h, opts); err != nil {
		e.t.Fatal(err)
	}
	e.waitServing(b)
	return b
}

// waitServing waits until the worker bus b consumes its node queue.
func (e *env) waitServing(b *Bus) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !b.State().Serving {
		if time.Now().After(deadline) {
			e.t.Fatal("worker not serving after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closeConnections closes this test's connections whose name contains
// role from the broker side (rabbitmqctl; never close_all_connections,
// which would break the other tests on the shared broker). It returns
// how many it closed.
func (e *env) closeConnections(role string) int {
	e.t.Helper()
	out, err := exec.Command("rabbitmqctl", "-q", "list_connections", "pid", "client_properties").Output()
	if err != nil {
		e.t.Fatalf("rabbitmqctl list_connections: %v", err)
	}
	match := e.connName(role)
	var wg sync.WaitGroup
	var n atomic.Int32
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, match) {
			continue
		}
		pid := strings.Fields(line)[0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.Command("rabbitmqctl", "-q", "close_connection", pid, "test: failover").CombinedOutput(); err != nil {
				e.t.Errorf("close_connection %s: %v %s", pid, err, out)
				return
			}
			n.Add(1)
		}()
	}
	wg.Wait()
	return int(n.Load())
}

// rawChannel opens a plain amqp091 channel for spying and injecting.
func rawChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(brokerURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitDead waits for the dead letter with message id id in the test's
// callapi.dead queue and returns it (acked).
func (e *env) waitDead(id string, within time.Duration) (amqp.Delivery, bool) {
	e.t.Helper()
	ch := rawChannel(e.t)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		d, ok, err := ch.Get(e.names.DeadQueue, false)
		if err != nil {
			e.t.Fatal(err)
		}
		if !ok {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		_ = d.Ack(false)
		if d.MessageId == id {
			return d, true
		}
	}
	return amqp.Delivery{}, false
}

// handlerFunc adapts a function to callapi.CommandHandler.
type handlerFunc func(ctx context.Context, cmd *callapi.Command) *callapi.Reply

func (f handlerFunc) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	return f(ctx, cmd)
}

// recorder is a handler that counts executions per command id.
type recorder struct {
	node  callapi.NodeID
	delay time.Duration
	mu    sync.Mutex
	runs  map[string]int
	order map[callapi.CallID][]string
	inFly atomic.Int32
	peak  atomic.Int32
}

func newRecorder(node callapi.NodeID) *recorder {
	return &recorder{node: node, runs: map[string]int{}, order: map[callapi.CallID][]string{}}
}

func (r *recorder) Handle(ctx context.Context, cmd *callapi.Command) *callapi.Reply {
	n := r.inFly.Add(1)
	defer r.inFly.Add(-1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	r.mu.Lock()
	r.runs[cmd.ID]++
	r.order[cmd.CallID] = append(r.order[cmd.CallID], cmd.ID)
	r.mu.Unlock()
	if r.delay > 0 {
		select {
		case <-time.After(r.delay):
		case <-ctx.Done():
		}
	}
	return callapi.OKReply(cmd.ID, r.node, map[string]string{"echo": cmd.ID})
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func cmdOf(a callapi.Action, call string) *callapi.Command {
	return &callapi.Command{ID: newID(), Action: a, Tenant: "acme", CallID: callapi.CallID(call)}
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var testLogLevel = func() zap.AtomicLevel {
	l := zap.NewAtomicLevelAt(zap.WarnLevel)
	if v := os.Getenv("AMQPBUS_TEST_LOG"); v != "" {
		_ = l.UnmarshalText([]byte(v))
	}
	return l
}()
