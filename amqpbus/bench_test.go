package amqpbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// BenchmarkRPC measures, in the same run, request/reply round trips through
// amqpbus (Request → worker → reply: confirms, mandatory, dedup memory,
// per-call scheduler) and through a bare amqp091-go direct reply-to loop
// written here (no confirms), at 1 and 64 requests in flight, with three
// more contenders for reference: floor (the bare loop through the topic
// exchange, mandatory, in confirm mode), wire (the floor sending amqpbus's
// very message to a queue with a node queue's arguments) and direct
// (amqpbus with DirectRouting). They alternate in rounds of 200 requests so
// that all see the same load on the (shared) machine. Reported: throughput
// and median latency of each, and the ratios bus/bare and direct/bare.
//
//	go test -run '^$' -bench RPC -benchtime 20000x ./amqpbus/
func BenchmarkRPC(b *testing.B) {
	e := newEnv(b)
	request := echoWorker(e)
	bus := request(e.bus("gateway", nil))
	direct := request(e.bus("gateway direct", func(c *Config) { c.DirectRouting = true }))
	bare := newBareRPC(b, nil)
	fl := newBareRPC(b, &floor{exchange: e.names.Commands})
	wire := newBareRPC(b, &floor{exchange: e.names.Commands, wire: true, args: nodeQueueArgs(e.names, DefaultConfig())})
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
			const round = 200
			var busLat, bareLat, flLat, dLat, wLat []time.Duration
			var busTime, bareTime, flTime, dTime, wTime time.Duration
			for _, f := range []func() error{bus, bare.call, fl.call, direct, wire.call} {
				runInflight(b, n, round, f) // warm up: pools, runners, broker queues
			}
			b.ResetTimer()
			for done := 0; done < b.N; done += round {
				k := min(round, b.N-done)
				l, d := runInflight(b, n, k, bus)
				busLat, busTime = append(busLat, l...), busTime+d
				l, d = runInflight(b, n, k, bare.call)
				bareLat, bareTime = append(bareLat, l...), bareTime+d
				l, d = runInflight(b, n, k, fl.call)
				flLat, flTime = append(flLat, l...), flTime+d
				l, d = runInflight(b, n, k, direct)
				dLat, dTime = append(dLat, l...), dTime+d
				l, d = runInflight(b, n, k, wire.call)
				wLat, wTime = append(wLat, l...), wTime+d
			}
			b.StopTimer()
			busTP := float64(len(busLat)) / busTime.Seconds()
			bareTP := float64(len(bareLat)) / bareTime.Seconds()
			busP50, bareP50 := median(busLat), median(bareLat)
			b.ReportMetric(busTP, "bus-rpc/s")
			b.ReportMetric(bareTP, "bare-rpc/s")
			b.ReportMetric(float64(busP50.Microseconds()), "bus-p50-us")
			b.ReportMetric(float64(quantile(busLat, 0.99).Microseconds()), "bus-p99-us")
			b.ReportMetric(float64(quantile(bareLat, 0.99).Microseconds()), "bare-p99-us")
			b.ReportMetric(float64(bareP50.Microseconds()), "bare-p50-us")
			b.ReportMetric(float64(len(flLat))/flTime.Seconds(), "floor-rpc/s")
			b.ReportMetric(float64(median(flLat).Microseconds()), "floor-p50-us")
			b.ReportMetric(float64(len(wLat))/wTime.Seconds(), "wire-rpc/s")
			b.ReportMetric(float64(median(wLat).Microseconds()), "wire-p50-us")
			dTP, dP50 := float64(len(dLat))/dTime.Seconds(), median(dLat)
			b.ReportMetric(dTP, "direct-rpc/s")
			b.ReportMetric(float64(dP50.Microseconds()), "direct-p50-us")
			b.ReportMetric(busTP/bareTP, "tput-ratio")
			b.ReportMetric(float64(busP50)/float64(bareP50), "p50-ratio")
			b.ReportMetric(dTP/bareTP, "direct-tput-ratio")
			b.ReportMetric(float64(dP50)/float64(bareP50), "direct-p50-ratio")
		})
	}
}

// runInflight makes k calls from n goroutines; it returns their latencies
// and the wall time taken.
func runInflight(b *testing.B, n, k int, call func() error) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, k)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(k) {
					return
				}
				t0 := time.Now()
				if err := call(); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		b.Fatalf("%d of %d RPCs failed", failed.Load(), k)
	}
	return lat, elapsed
}

func median(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

func quantile(ds []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

// bareRPC is the floor: a server consuming a queue with manual acks and
// replying on direct reply-to, and a client publishing with a correlation
// id and matching replies: plain amqp091-go, no confirms, no mandatory.
type bareRPC struct {
	exchange, key string
	mandatory     bool
	wire          bool
	ch            *amqp.Channel // client
	mu            sync.Mutex
	wait          map[string]chan []byte
}

// floor, when set, makes the bare loop speak our protocol's expensive
// parts: publish through the commands topic exchange, mandatory, with
// publisher confirms (drained, not awaited). wire: and send the very
// message amqpbus sends (encodeCommand: headers, expiration, type,
// timestamp), so that what remains between it and amqpbus is amqpbus's
// own work, not the protocol's.
type floor struct {
	exchange string
	wire     bool
	args     amqp.Table // of the server's queue (wire: a node queue's)
}

func newBareRPC(b *testing.B, fl *floor) *bareRPC {
	sconn, err := amqp.Dial(brokerURL())
	if err != nil {
		b.Fatal(err)
	}
	cconn, err := amqp.Dial(brokerURL())
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { _ = cconn.Close(); _ = sconn.Close(); wg.Wait() })
	r := &bareRPC{wait: map[string]chan []byte{}, wire: fl != nil && fl.wire}
	startBareServer(b, sconn, fl, r, &wg)
	startBareClient(b, cconn, fl, r, &wg)
	return r
}

// startBareServer declares the server's queue (with fl, bound to its
// exchange), points r at it and answers each request with a call.get
// reply until the connection closes.
func startBareServer(b *testing.B, sconn *amqp.Connection, fl *floor, r *bareRPC, wg *sync.WaitGroup) {
	sch, err := sconn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := sch.Qos(64, 0, false); err != nil {
		b.Fatal(err)
	}
	var args amqp.Table
	if fl != nil {
		args = fl.args
	}
	q, err := sch.QueueDeclare("", false, true, true, false, args)
	if err != nil {
		b.Fatal(err)
	}
	r.exchange, r.key = "", q.Name
	if fl != nil {
		word := "barefloor"
		if fl.wire {
			word = "barewire"
		}
		r.exchange, r.key, r.mandatory = fl.exchange, "cmd."+word+".call.get", true
		if err := sch.QueueBind(q.Name, "cmd."+word+".#", fl.exchange, false, nil); err != nil {
			b.Fatal(err)
		}
	}
	reqs, err := sch.Consume(q.Name, "", false, true, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	wg.Add(1)
	go func() { // server
		defer wg.Done()
		for d := range reqs {
			var cmd callapi.Command
			_ = json.Unmarshal(d.Body, &cmd)
			body, _ := json.Marshal(callapi.OKReply(cmd.ID, "pbx1", map[string]string{"echo": cmd.ID}))
			_ = sch.Publish("", d.ReplyTo, false, false, amqp.Publishing{ContentType: contentJSON, CorrelationId: d.CorrelationId, Body: body})
			_ = d.Ack(false)
		}
	}()
}

// startBareClient opens r's publishing channel (with fl, in confirm mode,
// the confirms and returns drained) and dispatches the direct replies to
// their waiters until the connection closes.
func startBareClient(b *testing.B, cconn *amqp.Connection, fl *floor, r *bareRPC, wg *sync.WaitGroup) {
	cch, err := cconn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if fl != nil {
		if err := cch.Confirm(false); err != nil {
			b.Fatal(err)
		}
		confirms := cch.NotifyPublish(make(chan amqp.Confirmation, 4096))
		returns := cch.NotifyReturn(make(chan amqp.Return, 16))
		wg.Add(1)
		go func() { // drains confirms and returns until the channel closes
			defer wg.Done()
			for confirms != nil || returns != nil {
				select {
				case _, ok := <-confirms:
					if !ok {
						confirms = nil
					}
				case _, ok := <-returns:
					if !ok {
						returns = nil
					}
				}
			}
		}()
	}
	replies, err := cch.Consume(directReplyTo, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.ch = cch
	wg.Add(1)
	go func() { // client reply dispatcher
		defer wg.Done()
		for d := range replies {
			r.mu.Lock()
			c := r.wait[d.CorrelationId]
			delete(r.wait, d.CorrelationId)
			r.mu.Unlock()
			if c != nil {
				c <- d.Body
			}
		}
	}()
}

func (r *bareRPC) call() error {
	id := newID()
	body, _ := json.Marshal(&callapi.Command{ID: id, Action: callapi.ActCallGet, Tenant: "acme", CallID: callapi.CallID(newID())})
	c := make(chan []byte, 1)
	r.mu.Lock()
	r.wait[id] = c
	r.mu.Unlock()
	msg := amqp.Publishing{
		ContentType: contentJSON, CorrelationId: id, MessageId: id, ReplyTo: directReplyTo, Body: body,
	}
	if r.wire {
		now := time.Now()
		msg, _ = encodeCommand(&callapi.Command{ID: id, Action: callapi.ActCallGet, Tenant: "acme", CallID: callapi.CallID(newID()),
			Deadline: now.Add(5 * time.Second)}, directReplyTo, now)
	}
	if err := r.ch.Publish(r.exchange, r.key, r.mandatory, false, msg); err != nil {
		return err
	}
	select {
	case body := <-c:
		var rep callapi.Reply
		return json.Unmarshal(body, &rep)
	case <-time.After(5 * time.Second):
		r.mu.Lock()
		delete(r.wait, id)
		r.mu.Unlock()
		return errors.New("bare: timeout")
	}
}

// BenchmarkContender runs each contender of BenchmarkRPC alone (both ends
// in this process), for profiles that show one of them only, and reports
// the CPU this process spent per round trip (getrusage: user + system),
// a figure that moves less with the machine's load than the rates:
//
//	go test -run '^$' -bench 'Contender/bus/inflight=64' -benchtime 20000x -cpuprofile cpu.out ./amqpbus/
func BenchmarkContender(b *testing.B) {
	e := newEnv(b)
	request := echoWorker(e)
	contenders := []struct {
		name string
		call func() error
	}{
		{"bus", request(e.bus("gateway", nil))},
		{"direct", request(e.bus("gateway direct", func(c *Config) { c.DirectRouting = true }))},
		{"bare", newBareRPC(b, nil).call},
		{"floor", newBareRPC(b, &floor{exchange: e.names.Commands}).call},
		{"wire", newBareRPC(b, &floor{exchange: e.names.Commands, wire: true, args: nodeQueueArgs(e.names, DefaultConfig())}).call},
	}
	for _, c := range contenders {
		for _, n := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/inflight=%d", c.name, n), func(b *testing.B) {
				runInflight(b, n, 200, c.call)
				b.ResetTimer()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				cpu0 := cpuTime()
				lat, d := runInflight(b, n, b.N, c.call)
				cpu := cpuTime() - cpu0
				b.StopTimer()
				runtime.ReadMemStats(&m1)
				b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(len(lat)), "allocs/rpc")
				b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(len(lat)), "B/rpc")
				b.ReportMetric(float64(len(lat))/d.Seconds(), "rpc/s")
				b.ReportMetric(float64(median(lat).Microseconds()), "p50-us")
				b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-us/rpc")
			})
		}
	}
}

// cpuTime is the CPU (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// echoWorker starts an echoing worker for pbx1 on e and returns a function
// that builds one round trip to it through a gateway bus.
func echoWorker(e *env) func(gw *Bus) func() error {
	e.worker("pbx1", handlerFunc(func(_ context.Context, cmd *callapi.Command) *callapi.Reply {
		return callapi.OKReply(cmd.ID, "pbx1", map[string]string{"echo": cmd.ID})
	}), ServeOptions{}, nil)
	return func(gw *Bus) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rep, err := gw.Request(ctx, "pbx1", &callapi.Command{ID: newID(), Action: callapi.ActCallGet, Tenant: "acme", CallID: callapi.CallID(newID())})
			if err == nil && !rep.OK {
				err = rep.Err()
			}
			return err
		}
	}
}
