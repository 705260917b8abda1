package asterisk

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/internal/retry"
)

// The events WebSocket is ours too, not the native client's: its
// Client.listen reconnects forever on its own without telling anyone (so
// the channels cannot be re-read after a reconnect), Connect blocks until
// the first connect, its stdbus drops events silently when a subscriber is
// slow, the raw JSON of an event is lost, and `connected` is a racy bool.

const pingInterval = 15 * time.Second

// Run connects the events WebSocket, adopts the channels already in the app,
// and keeps the connection up (reconnecting with capped, jittered backoff;
// re-reading the channels after each reconnect) until ctx ends. It returns
// nil when ctx ends. A worker whose app was taken over by another connection
// (ApplicationReplaced) stays unhealthy and does not fight back: it stops
// reconnecting and says why in the log and in Info.
func (p *PBX) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer p.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	p.bgCtx, p.bgWG = ctx, &wg
	p.runShards(ctx, &wg)
	defer func() {
		cancel()
		wg.Wait()
		p.rest.close()
	}()
	for attempt := 0; ; {
		connected, err := p.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if p.isReplaced() {
			p.log.Error("ARI application replaced by another connection: not reconnecting; this worker is unhealthy until restarted")
			<-ctx.Done()
			return nil
		}
		if connected {
			attempt = 0
		}
		d := retry.Backoff(attempt, p.cfg.ReconnectMin, p.cfg.ReconnectMax)
		attempt++
		// It dials every 125–250 ms while Asterisk is away: a warning for
		// the first failures and then one every 40 attempts (~10 s).
		if attempt <= 3 || attempt%40 == 0 {
			p.log.Warn("ARI events websocket down", zap.Error(err), zap.Int("attempt", attempt), zap.Duration("retry_in", d))
		} else {
			p.log.Debug("ARI events websocket down", zap.Error(err), zap.Int("attempt", attempt), zap.Duration("retry_in", d))
		}
		if !retry.Sleep(ctx, d) {
			return nil
		}
	}
}

func (p *PBX) eventsURL() string {
	u := p.cfg.URL
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return strings.TrimRight(u, "/") + "/events?" + url.Values{"app": {p.cfg.App}, "subscribeAll": {"false"}}.Encode()
}

// session runs one WebSocket connection: dial, re-read the channels, read
// events until the connection fails or ctx ends. connected says whether the
// dial succeeded.
func (p *PBX) session(ctx context.Context) (connected bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dctx, dcancel := context.WithTimeout(sctx, p.cfg.RequestTimeout)
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(p.cfg.User+":"+p.cfg.Password)))
	ws, resp, err := websocket.Dial(dctx, p.eventsURL(), &websocket.DialOptions{HTTPHeader: h})
	dcancel()
	if err != nil {
		if resp != nil {
			return false, mapErr("asterisk.Run", &ariError{Method: http.MethodGet, Path: "/events", Status: resp.StatusCode, Message: resp.Status}, "ARI events", "")
		}
		return false, mapErr("asterisk.Run", err, "ARI events", "")
	}
	defer ws.CloseNow() //nolint:errcheck // best effort on teardown
	ws.SetReadLimit(4 << 20)
	p.connected.Store(true)
	p.healthChanged()
	defer p.healthChanged()
	defer p.connected.Store(false)
	n := p.stats.connects.Add(1)
	p.log.Info("ARI events websocket connected", zap.Int64("connects", n))

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.awaitRegistered(sctx)
		p.filterEvents(sctx)
		p.subscribeMessages(sctx)
		p.subscribeDeviceStates(sctx)
		p.reconcile(sctx)
		// Ready (and so commands on calls this worker does not know yet)
		// only once the adoptions the re-read queued have been processed.
		p.flush(sctx)
		if sctx.Err() == nil {
			p.readyOnce.Do(func() { close(p.ready) })
		}
	}()
	go func() {
		defer wg.Done()
		p.keepalive(sctx, ws, cancel)
	}()
	err = p.read(sctx, ws)
	if ctx.Err() != nil {
		p.unsubscribeDeviceStates()
	}
	cancel()
	wg.Wait()
	return true, err
}

// awaitRegistered waits until Asterisk lists the app. Asterisk (and the
// simulator) registers the app only after the WebSocket upgrade was
// answered, so an originate or a re-read issued at once could otherwise
// precede the subscription and miss events.
func (p *PBX) awaitRegistered(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := p.rest.do(ctx, http.MethodGet, "/applications/"+seg(p.cfg.App), nil, nil, nil)
		if err == nil {
			return
		}
		if ariStatus(err) != http.StatusNotFound {
			p.log.Warn("checking the app registration failed", zap.Error(err))
			return
		}
		if !retry.Sleep(ctx, retry.Backoff(attempt, 2*time.Millisecond, 100*time.Millisecond)) {
			p.log.Warn("app not listed by Asterisk after connect", zap.Error(ctx.Err()))
			return
		}
	}
}

// filterEvents asks Asterisk to send the app only the events the intake
// keeps (eventFilter): each dropped event still cost the worker a WebSocket
// frame read and a wake-up, and Asterisk sends a ChannelVarset for every
// variable set. The filter belongs to the app, not to the connection:
// Asterisk keeps it while the app exists (a connection that replaces this
// one inherits it) and forgets it with the app, so it is set again after
// every connect. Until it is set, and on an Asterisk that has no event
// filters (before 13.26 / 16.3: 404) or refuses this one, the intake drops
// those events itself: a failure is a warning, not an error.
func (p *PBX) filterEvents(ctx context.Context) {
	err := p.rest.do(ctx, http.MethodPut, "/applications/"+seg(p.cfg.App)+"/eventFilter", nil, eventFilter, nil)
	switch {
	case err == nil:
		p.log.Debug("ARI event filter set", zap.Int("allowed", len(eventFilter.Allowed)))
	case ctx.Err() == nil:
		p.log.Warn("ARI event filter not set (Asterisk older than 13.26/16.3?): the events the worker does not use are dropped on arrival instead", zap.Error(err))
	}
}

// keepalive pings Asterisk so that a half-open connection is noticed.
func (p *PBX) keepalive(ctx context.Context, ws *websocket.Conn, fail context.CancelFunc) {
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, pingInterval)
		err := ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			p.log.Warn("ARI events websocket ping failed", zap.Error(err))
			fail()
			return
		}
	}
}

// read is the intake: decode, filter, hand to the call's shard.
//
// Each message is read into one reused buffer, and only the events kept
// are copied out of it; the reads are not given ctx (websocket.Conn.Read
// registers a context.AfterFunc per read with a ctx that can end: a third
// of the intake's allocations): ctx's end closes the connection instead,
// which ends the read in progress.
func (p *PBX) read(ctx context.Context, ws *websocket.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = ws.CloseNow() })
	defer stop()
	rctx := context.WithoutCancel(ctx)
	var buf bytes.Buffer
	for {
		if buf.Cap() > 64<<10 {
			buf = bytes.Buffer{} // not held after a large message
		}
		buf.Reset()
		_, r, err := ws.Reader(rctx)
		if err == nil {
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		data := buf.Bytes()
		p.stats.in.Add(1)
		// The event filter (filterEvents) keeps Asterisk from sending
		// what is not relevant; what still comes (before the filter is
		// set, or from an Asterisk without filters: a ChannelVarset for
		// every variable set, ChannelDialplan, …) is dropped here, and
		// when the type leads the object, as Asterisk writes it, without
		// decoding the rest.
		if t, ok := peekType(data); ok && !relevant[t] && t != "ApplicationReplaced" {
			p.stats.skipped.Add(1)
			continue
		}
		data = bytes.Clone(data) // kept with the event (item.raw)
		ev, err := decodeEvent(data)
		if err != nil {
			p.stats.decodeErr.Add(1)
			p.log.Warn("undecodable ARI event", zap.Error(err), zap.Int("bytes", len(data)))
			continue
		}
		if ev.Type == "ApplicationReplaced" {
			// Asterisk 22 keeps the socket open but sends nothing more
			// for the app: end the session (Run does not reconnect).
			p.markReplaced()
			return errAppReplaced
		}
		if !relevant[ev.Type] || (ev.Application != "" && ev.Application != p.cfg.App) {
			continue
		}
		p.enqueue(ctx, item{kind: kindEvent, ev: ev, raw: data})
	}
}

// errAppReplaced ends a session whose app another connection took over.
var errAppReplaced = errors.New("asterisk: ARI application replaced by another connection")

func (p *PBX) markReplaced() {
	p.mu.Lock()
	p.replaced = "ARI application " + p.cfg.App + " was replaced by another connection (ApplicationReplaced): another worker serves this Asterisk; events are no longer received here"
	p.mu.Unlock()
	p.healthChanged()
	p.log.Error("ARI application replaced by another websocket connection; marking node unhealthy")
}

func (p *PBX) isReplaced() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replaced != ""
}

// reconcile re-reads the channels after a (re)connect and queues the
// differences behind the events already received: calls whose channel is
// gone end (call.hangup), calls that moved on are announced (created,
// ringing, answered), channels in the app that no call tracks are adopted.
func (p *PBX) reconcile(ctx context.Context) {
	tracked := p.calls.settled() // before the read: a call created later is not judged by it
	var chans []ariChannel
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = p.rest.do(ctx, http.MethodGet, "/channels", nil, nil, &chans); err == nil {
			break
		}
		if !retry.Sleep(ctx, retry.Backoff(attempt, 200*time.Millisecond, time.Second)) {
			return
		}
	}
	if err != nil {
		p.log.Error("re-reading channels after connect failed; differences not published", zap.Error(err))
		return
	}
	byID := make(map[string]*ariChannel, len(chans))
	for i := range chans {
		byID[chans[i].ID] = &chans[i]
	}
	gone, adopted := 0, 0
	for _, id := range tracked {
		if ch, ok := byID[string(id)]; ok {
			if p.calls.isAbandoned(id) {
				// Its originate failed and its cleanup could not reach
				// Asterisk: nobody holds this call, hang it up now.
				p.hangupAbandoned(ctx, id)
				continue
			}
			p.enqueue(ctx, item{kind: kindSeen, ch: ch})
			continue
		}
		gone++
		p.enqueue(ctx, item{kind: kindGone, id: string(id)})
	}
	for _, ch := range byID {
		if ch.stasisApp() != p.cfg.App || p.calls.known(callapi.CallID(ch.ID)) {
			continue
		}
		adopted++
		p.enqueue(ctx, item{kind: kindSeen, ch: ch})
	}
	p.extMediaGone(ctx, byID)
	p.log.Info("channels re-read", zap.Int("tracked", len(tracked)), zap.Int("gone", gone), zap.Int("adopting", adopted))
	p.reconcileBridges(ctx)
}

// reconcileBridges forgets, with bridge.destroyed, the bridges created
// through callgw that are gone (destroyed while the WebSocket was down, or
// an Asterisk restart), and adopts those a previous worker created (they
// carry the bridge variable CALLGW_TENANT).
func (p *PBX) reconcileBridges(ctx context.Context) {
	tracked := p.bridges.ids() // before the read: a bridge created later is not judged by it
	var all []ariBridge
	if err := p.rest.do(ctx, http.MethodGet, "/bridges", nil, nil, &all); err != nil {
		p.log.Warn("re-reading bridges after connect failed", zap.Error(err))
		return
	}
	live := make(map[string]bool, len(all))
	for _, b := range all {
		live[b.ID] = true
	}
	gone := 0
	for _, id := range tracked {
		if !live[string(id)] {
			gone++
			p.bridgeGone(ctx, id)
		}
	}
	adopted := 0
	for i := range all {
		if !p.bridges.known(callapi.BridgeID(all[i].ID)) && p.adoptBridge(ctx, &all[i]) {
			adopted++
		}
	}
	if gone+adopted > 0 {
		p.log.Info("bridges re-read", zap.Int("gone", gone), zap.Int("adopted", adopted))
	}
}
