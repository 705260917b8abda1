package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/callgw/callgw/callapi"
)

// do sends one request and reads the whole answer; it fails unless the
// status is want.
func do(ctx context.Context, c *http.Client, method, u string, body []byte, want int, user, pass string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		if len(b) > 300 {
			b = b[:300]
		}
		return nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

var originateBody = []byte(`{"to":"Local/answer@callgw-test","wait":"answered"}`)

// originate places a call through the REST API and waits until it is
// answered; it returns the call id.
func (e *env) originate(ctx context.Context) (string, error) {
	b, err := do(ctx, e.http, http.MethodPost, e.gwURL+"/v1/calls", originateBody, http.StatusCreated, "", "")
	if err != nil {
		return "", err
	}
	var c struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("originate answer %s: %w", b, err)
	}
	if c.ID == "" || c.State != "up" {
		return "", fmt.Errorf("originate: call not up: %s", b)
	}
	return c.ID, nil
}

// hangup hangs a call up through the REST API.
func (e *env) hangup(ctx context.Context, id string) error {
	_, err := do(ctx, e.http, http.MethodDelete, e.gwURL+"/v1/calls/"+url.PathEscape(id), nil, http.StatusNoContent, "", "")
	return err
}

// getCall is the command path's cheap command: GET /v1/calls/{id}.
func (e *env) getCall(ctx context.Context, id string) ([]byte, error) {
	return do(ctx, e.http, http.MethodGet, e.gwURL+"/v1/calls/"+url.PathEscape(id), nil, http.StatusOK, "", "")
}

// The variable every set-variable contender sets, and its value.
const (
	benchVar   = "BENCH"
	benchValue = "4711"
)

var setVariableBody = []byte(`{"value":"` + benchValue + `"}`)

// setVariable is the command path's command that reaches the PBX:
// PUT /v1/calls/{id}/variables/BENCH.
func (e *env) setVariable(ctx context.Context, id string) error {
	_, err := do(ctx, e.http, http.MethodPut, e.gwURL+"/v1/calls/"+url.PathEscape(id)+"/variables/"+benchVar, setVariableBody, http.StatusNoContent, "", "")
	return err
}

// ariGet is the PBX side's ceiling for GET: GET /ari/channels/{id}
// straight to the simulator.
func (e *env) ariGet(ctx context.Context, id string) error {
	_, err := do(ctx, e.http, http.MethodGet, e.simURL+"/channels/"+url.PathEscape(id), nil, http.StatusOK, e.ariUser, e.ariPass)
	return err
}

var ariSetVariableQuery = url.Values{"variable": {benchVar}, "value": {benchValue}}.Encode()

// ariSetVariable is the PBX side's ceiling for PUT: POST
// /ari/channels/{id}/variable straight to the simulator, the request the
// worker makes for a PUT.
func (e *env) ariSetVariable(ctx context.Context, id string) error {
	_, err := do(ctx, e.http, http.MethodPost, e.simURL+"/channels/"+url.PathEscape(id)+"/variable?"+ariSetVariableQuery, nil, http.StatusNoContent, e.ariUser, e.ariPass)
	return err
}

// apxWindow runs one closed-loop window of the ari-proxy contender: its
// client process sets BENCH on ids through ari-proxy over NATS, inflight
// at a time, for d, and answers what it saw (cmd/callgw-bench/ariproxy, Window).
// A failed exchange with the client counts as one failed request.
func (e *env) apxWindow(ctx context.Context, ids []string, inflight int, d time.Duration) window {
	body, _ := json.Marshal(map[string]any{"inflight": inflight, "duration_ns": d, "ids": ids, "variable": benchVar, "value": benchValue})
	ctx, cancel := context.WithTimeout(ctx, d+opTimeout+30*time.Second)
	defer cancel()
	b, err := do(ctx, e.http, http.MethodPost, e.apxURL+"/window", body, http.StatusOK, "", "")
	var r struct {
		OK       int64   `json:"ok"`
		Errors   int64   `json:"errors"`
		Elapsed  int64   `json:"elapsed_ns"`
		LatNS    []int64 `json:"lat_ns"`
		FirstErr string  `json:"first_error"`
	}
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		return window{Errors: 1, FirstErr: fmt.Errorf("ari-proxy client: %w", err)}
	}
	w := window{OK: r.OK, Errors: r.Errors, Elapsed: time.Duration(r.Elapsed), Lat: make([]time.Duration, len(r.LatNS))}
	for i, l := range r.LatNS {
		w.Lat[i] = time.Duration(l)
	}
	slices.Sort(w.Lat)
	if r.FirstErr != "" {
		w.FirstErr = errors.New(r.FirstErr)
	}
	return w
}

// subscriber is a customer's queue bound to callapi.events.routed, on its
// own connection: it counts the events and wakes whoever waits for one
// (type, call id). It reads only routing keys
// (<tenant>.<node>.<resource>.<event>.<id>), as a filtering consumer
// would, and never decodes a body.
type subscriber struct {
	conn   *amqp.Connection
	events atomic.Int64
	bytes  atomic.Int64
	mu     sync.Mutex
	wait   map[string]chan struct{}
	done   chan struct{}
}

// subscribe declares an exclusive queue, binds it with key and consumes.
func (e *env) subscribe(ctx context.Context, key string) (*subscriber, error) {
	conn, err := dialAMQP(e.o.AMQPURL, "callgw-bench subscriber "+e.prefix)
	if err != nil {
		return nil, fmt.Errorf("subscriber: %w", err)
	}
	var d <-chan amqp.Delivery
	err = bounded(ctx, conn, "subscriber", func() error {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return err
		}
		if err := ch.QueueBind(q.Name, key, e.prefix+callapi.ExchangeEventsRouted, false, nil); err != nil {
			return err
		}
		d, err = ch.Consume(q.Name, "", true, true, false, false, nil)
		return err
	})
	if err != nil {
		closeAMQP(conn)
		return nil, err
	}
	s := &subscriber{conn: conn, wait: map[string]chan struct{}{}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for m := range d {
			s.events.Add(1)
			s.bytes.Add(int64(len(m.Body)))
			w := strings.Split(m.RoutingKey, ".")
			if len(w) != 5 {
				continue
			}
			k := w[2] + "." + w[3] + "/" + w[4]
			s.mu.Lock()
			c := s.wait[k]
			delete(s.wait, k)
			s.mu.Unlock()
			if c != nil {
				close(c)
			}
		}
	}()
	return s, nil
}

// expect registers interest in the event typ ("call.hangup") of call id;
// the returned channel closes when it arrives.
func (s *subscriber) expect(typ, id string) (<-chan struct{}, func()) {
	k := typ + "/" + strings.ReplaceAll(id, ".", "_")
	c := make(chan struct{})
	s.mu.Lock()
	s.wait[k] = c
	s.mu.Unlock()
	return c, func() {
		s.mu.Lock()
		if s.wait[k] == c {
			delete(s.wait, k)
		}
		s.mu.Unlock()
	}
}

// await waits for c or the end of ctx.
func await(ctx context.Context, c <-chan struct{}, what string) error {
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

func (s *subscriber) close() {
	closeAMQP(s.conn) // ends the deliveries channel
	<-s.done
}

// lifecycle is one complete call through the REST API: originate (answered),
// hang up, and the call.hangup event consumed from the subscriber's queue.
func (e *env) lifecycle(ctx context.Context, sub *subscriber) error {
	id, err := e.originate(ctx)
	if err != nil {
		return err
	}
	got, cancel := sub.expect("call.hangup", id)
	defer cancel()
	if err := e.hangup(ctx, id); err != nil {
		return err
	}
	return await(ctx, got, "call.hangup of "+id)
}

// ariCall is one short call driven straight over ARI, as calls that reach
// the worker from the dialplan would: originate into the Stasis app, wait
// until callgw announced it (call.created on the bound queue), hang up,
// wait for call.hangup.
func (e *env) ariCall(ctx context.Context, sub *subscriber) error {
	id, err := e.ariUp(ctx, sub)
	if err != nil {
		return err
	}
	hung, cancel := sub.expect("call.hangup", id)
	defer cancel()
	if err := e.ariDown(ctx, id); err != nil {
		return err
	}
	return await(ctx, hung, "call.hangup of "+id)
}

// ariUp originates one call straight over ARI into the Stasis app and
// waits until callgw announced it; it returns the call (channel) id.
func (e *env) ariUp(ctx context.Context, sub *subscriber) (string, error) {
	id := uuid.NewString()
	created, cancel := sub.expect("call.created", id)
	defer cancel()
	q := url.Values{"endpoint": {"Local/answer@callgw-test"}, "app": {ariApp}}
	if _, err := do(ctx, e.http, http.MethodPost, e.simURL+"/channels/"+id+"?"+q.Encode(), nil, http.StatusOK, e.ariUser, e.ariPass); err != nil {
		return "", err
	}
	return id, await(ctx, created, "call.created of "+id)
}

// ariDown hangs a call up straight over ARI.
func (e *env) ariDown(ctx context.Context, id string) error {
	_, err := do(ctx, e.http, http.MethodDelete, e.simURL+"/channels/"+id, nil, http.StatusNoContent, e.ariUser, e.ariPass)
	return err
}

// ariPlay starts a playback on a live call straight over ARI and waits
// for its call.playback.finished on the bound queue: two CallAPI events
// (started, finished) per request, from two ARI events.
func (e *env) ariPlay(ctx context.Context, sub *subscriber, id string) error {
	done, cancel := sub.expect("call.playback_finished", id)
	defer cancel()
	if _, err := do(ctx, e.http, http.MethodPost, e.simURL+"/channels/"+id+"/play?media=sound:beep", nil, http.StatusCreated, e.ariUser, e.ariPass); err != nil {
		return err
	}
	return await(ctx, done, "call.playback.finished of "+id)
}
