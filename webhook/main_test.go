package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap/zaptest"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// env is a run-unique set of webhook objects on the test broker.
type env struct {
	t     testing.TB
	names Names
	conn  *amqp.Connection
	store *Store
	cfg   Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	url := testenv.BrokerURL()
	testenv.NeedBroker(t, url)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	// Classic subscription queues: cheap on the shared test broker
	// (TestDeliversSignedInOrder covers quorum ones).
	n := Names{Prefix: "t" + uuid.NewString()[:8] + ".", QueueType: QueueTypeClassic}
	ctx := context.Background()
	st, err := OpenStore(ctx, conn, n, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	// Every subscription id the store ever saw, deleted ones included:
	// the cleanup deletes their queues whoever declared them.
	var idsMu sync.Mutex
	ids := map[string]bool{}
	st.Watch(func(s *Subscription) { idsMu.Lock(); ids[s.ID] = true; idsMu.Unlock() })
	e := &env{t: t, names: n, conn: conn, store: st, cfg: Config{Names: n, Policy: Policy{AllowLoopback: true},
		Timeout: 500 * time.Millisecond, RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Log: zaptest.NewLogger(t)}}
	t.Cleanup(func() {
		ch, err := conn.Channel()
		if err == nil {
			idsMu.Lock()
			for _, s := range st.List("") {
				ids[s.ID] = true
			}
			for id := range ids {
				deleteSub(ch, n, id)
			}
			idsMu.Unlock()
			_ = ch.ExchangeDelete(n.Events(), false, false)
			_ = ch.Close()
		}
		st.Close()
		_ = DeleteAll(context.Background(), conn, n)
		// Nothing the test declared is left on the shared broker.
		left := []string{n.Intake(), n.Subscriptions(), n.Log()}
		for id := range ids {
			left = append(left, n.Queue(id), n.Wait(id), n.Dead(id))
		}
		for _, q := range left {
			if ch, err := conn.Channel(); err == nil {
				if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err == nil {
					t.Errorf("queue %s left on the broker", q)
					_ = ch.Close()
				}
			}
		}
		_ = conn.Close()
	})
	return e
}

// start runs a delivery process until the test ends or the returned stop.
func (e *env) start(cfg Config) (stop func()) {
	conn, err := amqp.Dial(testenv.BrokerURL())
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = Run(ctx, conn, cfg) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = conn.Close() // as a crash: nothing acknowledged after this
			cancel()
			<-done
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) subscribe(url string, mod func(*Subscription)) *Subscription {
	e.t.Helper()
	now := time.Now().UTC()
	s := &Subscription{Webhook: callapi.Webhook{ID: uuid.NewString(), Tenant: callapi.DefaultTenant, URL: url, State: StateActive,
		Created: now, Updated: now}, Secrets: []Secret{{Value: "s3cret"}}}
	if mod != nil {
		mod(s)
	}
	if err := e.store.Put(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	ch, err := e.conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	defer ch.Close()
	if err := declareIntake(ch, e.names); err != nil { // as Manager.Create does
		e.t.Fatal(err)
	}
	if err := declareSub(ch, e.names, s.ID); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// publish sends n events of one call to the events exchange.
func (e *env) publish(call string, from, n int) {
	e.t.Helper()
	ch, err := e.conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	defer ch.Close()
	// Confirmed: unconfirmed messages still on their way to a quorum
	// queue are dropped when their channel closes.
	if err := ch.Confirm(false); err != nil {
		e.t.Fatal(err)
	}
	var cs []*amqp.DeferredConfirmation
	defer func() {
		for _, c := range cs {
			if !c.Wait() {
				e.t.Error("event not confirmed")
			}
		}
	}()
	for i := from; i < from+n; i++ {
		ev := callapi.Event{ID: uuid.NewString(), Type: callapi.EvCallDTMF, Time: time.Now(), Node: "pbx1", Tenant: callapi.DefaultTenant,
			CallID: callapi.CallID(call), Seq: uint64(i)}
		b, _ := json.Marshal(ev)
		c, err := ch.PublishWithDeferredConfirm(e.names.Events(), "", false, false, amqp.Publishing{Body: b, DeliveryMode: amqp.Persistent})
		if err != nil {
			e.t.Fatal(err)
		}
		cs = append(cs, c)
	}
}

// receiver records what it gets; fail decides the answer of each request.
type receiver struct {
	mu   sync.Mutex
	got  []callapi.Event
	at   []time.Time
	hits int
	srv  *httptest.Server
	// sigs and bodies: the Callgw-Signature and body of every request
	sigs   []string
	bodies [][]byte
	// secret verifies the signatures: "s3cret" unless set
	secret string
}

func newReceiver(t testing.TB, h func(n int, w http.ResponseWriter, r *http.Request) bool) *receiver {
	rc := &receiver{secret: "s3cret"}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits++
		n := rc.hits
		rc.sigs = append(rc.sigs, r.Header.Get(callapi.WebhookSignatureHeader))
		rc.bodies = append(rc.bodies, body)
		rc.mu.Unlock()
		rc.mu.Lock()
		secret := rc.secret
		rc.mu.Unlock()
		if err := callapi.VerifyWebhook(r.Header.Get(callapi.WebhookSignatureHeader), body, time.Now(), 0, secret); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if h != nil && !h(n, w, r) {
			return
		}
		var ev callapi.Event
		_ = json.Unmarshal(body, &ev)
		rc.mu.Lock()
		rc.got = append(rc.got, ev)
		rc.at = append(rc.at, time.Now())
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) events() []callapi.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]callapi.Event(nil), rc.got...)
}

// seqs returns the distinct seqs received, in order of first receipt.
func seqs(evs []callapi.Event) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, e := range evs {
		if !seen[e.Seq] {
			seen[e.Seq] = true
			out = append(out, e.Seq)
		}
	}
	return out
}

func wantInOrder(t *testing.T, got []uint64, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("received %d distinct events, want %d", len(got), n)
	}
	for i, s := range got {
		if s != uint64(i) {
			t.Fatalf("events out of order: %v", got)
		}
	}
}
