package webhook

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/testenv"
)

// The measurements of docs/webhooks.md and docs/performance.md; not part of
// the test run (go test -run '^$' -bench . ./webhook/). They use classic
// subscription queues, as the tests do, to spare the shared broker.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDeliveries: BENCH_SUBS subscriptions (16) of one local
// receiver (which verifies every signature) get b.N events of 16 calls,
// published as fast as the broker confirms them. Reported: deliveries per
// second of wall time, per second of this process's CPU (delivery
// process and receiver; the broker's CPU is not counted), and the latency
// from an event's time to its POST at the receiver, p50 and p99.
func BenchmarkDeliveries(b *testing.B) {
	subs := 16
	if v, err := strconv.Atoi(os.Getenv("BENCH_SUBS")); err == nil && v > 0 {
		subs = v
	}
	e := newEnv(b)
	rc := newReceiver(b, nil)
	for range subs {
		e.subscribe(rc.srv.URL, nil)
	}
	e.start(e.cfg)
	// Warm-up: lanes consuming, connections open.
	e.publish("warm", 0, 1)
	testenv.WaitFor(b, "warm-up", 30*time.Second, func() bool { return len(rc.events()) >= subs })
	rc.mu.Lock()
	rc.got, rc.at = nil, nil
	rc.mu.Unlock()

	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	publishMany(b, e, b.N, 16)
	want := b.N * subs
	testenv.WaitFor(b, "every delivery", 10*time.Minute, func() bool { return len(rc.events()) >= want })
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	var lat []time.Duration
	rc.mu.Lock()
	for i, ev := range rc.got {
		lat = append(lat, rc.at[i].Sub(ev.Time))
	}
	rc.mu.Unlock()
	p := percentiles(lat)
	b.ReportMetric(float64(want)/wall.Seconds(), "deliveries/s")
	b.ReportMetric(float64(want)/cpu.Seconds(), "deliveries/cpu-s")
	b.ReportMetric(float64(p[0].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p[1].Microseconds())/1000, "p99-ms")
}

// publishMany publishes n events spread over calls calls, confirmed in
// windows of 256, each stamped with the time it is published.
func publishMany(b *testing.B, e *env, n, calls int) {
	ch, err := e.conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	var cs []*amqp.DeferredConfirmation
	for i := range n {
		ev := callapi.Event{ID: uuid.NewString(), Type: callapi.EvCallDTMF, Time: time.Now(), Node: "pbx1", Tenant: callapi.DefaultTenant,
			CallID: callapi.CallID("c" + strconv.Itoa(i%calls)), Seq: uint64(i / calls)}
		body, _ := json.Marshal(ev)
		c, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), e.names.Events(), "", false, false,
			amqp.Publishing{Body: body, DeliveryMode: amqp.Persistent})
		if err != nil {
			b.Fatal(err)
		}
		if cs = append(cs, c); len(cs) == 256 {
			for _, c := range cs {
				c.Wait()
			}
			cs = cs[:0]
		}
	}
	for _, c := range cs {
		c.Wait()
	}
}

// BenchmarkOneBadReceiverOfMany is TestOneBadReceiverLeavesTheOthersAlone
// with BENCH_RECEIVERS receivers (100): the healthy receivers' latency p50
// and p99 with every receiver healthy, then with one failing and one slow.
func BenchmarkOneBadReceiverOfMany(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("BENCH_RECEIVERS")); err == nil && v > 2 {
		n = v
	}
	e := newEnv(b)
	e.cfg.Timeout = 300 * time.Millisecond
	for range b.N {
		before, after := isolation(b, e, n, 5)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(before[0]), "healthy-p50-ms")
		b.ReportMetric(ms(before[1]), "healthy-p99-ms")
		b.ReportMetric(ms(after[0]), "bad-neighbours-p50-ms")
		b.ReportMetric(ms(after[1]), "bad-neighbours-p99-ms")
		break // one run: it sets up n subscriptions
	}
}

// BenchmarkLatency: event-to-POST latency below saturation: 4
// subscriptions of one local receiver, BENCH_RATE events per second (20)
// for 5 s, each stamped when published. Reported: p50 and p99 of the time
// from an event's publication to its POST at the receiver.
func BenchmarkLatency(b *testing.B) {
	rate := 20
	if v, err := strconv.Atoi(os.Getenv("BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	const subs = 4
	e := newEnv(b)
	rc := newReceiver(b, nil)
	for range subs {
		e.subscribe(rc.srv.URL, nil)
	}
	e.start(e.cfg)
	e.publish("warm", 0, 1)
	testenv.WaitFor(b, "warm-up", 30*time.Second, func() bool { return len(rc.events()) >= subs })
	{ // one paced run, whatever b.N: it takes its 5 s
		rc.mu.Lock()
		rc.got, rc.at = nil, nil
		rc.mu.Unlock()
		n := rate * 5
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range n {
			<-tick.C
			e.publish("c"+strconv.Itoa(i%8), i/8, 1)
		}
		tick.Stop()
		testenv.WaitFor(b, "every delivery", time.Minute, func() bool { return len(rc.events()) >= n*subs })
		var lat []time.Duration
		rc.mu.Lock()
		for i, ev := range rc.got {
			lat = append(lat, rc.at[i].Sub(ev.Time))
		}
		rc.mu.Unlock()
		p := percentiles(lat)
		b.ReportMetric(float64(p[0].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p[1].Microseconds())/1000, "p99-ms")
	}
}
