package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari-proxy/v5/client"
	"github.com/CyCoreSystems/ari-proxy/v5/proxy"
	"github.com/CyCoreSystems/ari/v5"
	"github.com/inconshreveable/log15"
	"github.com/nats-io/nats.go"
)

// opTimeout bounds every request, as callgw-bench's own loops do.
const opTimeout = 15 * time.Second

// WindowRequest asks for one closed-loop window: Inflight goroutines each
// set Variable=Value on the next channel of IDs as soon as their previous
// request answered, for Duration.
type WindowRequest struct {
	Inflight int           `json:"inflight"`
	Duration time.Duration `json:"duration_ns"`
	IDs      []string      `json:"ids"`
	Variable string        `json:"variable"`
	Value    string        `json:"value"`
}

// Window is what one window saw; the harness computes rate and
// percentiles from it as it does for its own loops.
type Window struct {
	OK       int64   `json:"ok"`
	Errors   int64   `json:"errors"`
	Elapsed  int64   `json:"elapsed_ns"`
	LatNS    []int64 `json:"lat_ns"` // successful requests, sorted
	FirstErr string  `json:"first_error,omitempty"`
}

// runClient connects an ari-proxy client to NATS and serves the control
// endpoint: GET /readyz (200 once a proxy of the application announced
// itself) and POST /window (a WindowRequest; answers a Window).
func runClient(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ariproxy-bench client", flag.ContinueOnError)
	natsURL := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL")
	prefix := fs.String("prefix", "ari.", "message bus subject prefix")
	app := fs.String("app", "ariproxy", "ARI application of the proxy")
	node := fs.String("node", "", "Asterisk entity id of the proxy's Asterisk")
	listen := fs.String("listen", "127.0.0.1:0", "control endpoint (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *node == "" || !strings.HasPrefix(*natsURL, "nats://") {
		return errors.New("client: -node and a nats:// -nats are required")
	}
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("client: -listen %q: loopback only", *listen)
	}
	// The library's default is 500 ms, far below what a request waits at
	// 256 in flight on a busy machine; the harness's loops allow 15 s.
	client.DefaultRequestTimeout = opTimeout
	log := log15.New()
	log.SetHandler(log15.LvlFilterHandler(log15.LvlInfo, log15.StreamHandler(os.Stderr, log15.LogfmtFormat())))
	// A NATS connection of our own, beside the client's, on which /readyz
	// pings the proxies: a proxy announces itself on a ping, else only
	// once a minute. (The client keeps its own connection: one given with
	// client.WithNATS gets no request timeout, and every request fails.)
	nc, err := nats.Connect(*natsURL, nats.Name("callgw-bench ari-proxy client pings"))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer nc.Close()
	ec, err := nats.NewEncodedConn(nc, nats.JSON_ENCODER)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	// The library's logger stays its default (discarded): its makeRequest
	// logs every request at error level.
	cl, err := client.New(ctx, client.WithURI(*natsURL), client.WithPrefix(*prefix), client.WithApplication(*app))
	if err != nil {
		return fmt.Errorf("ari-proxy client: %w", err)
	}
	defer cl.Close()

	c := &loadClient{cl: cl, app: *app, node: *node}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !cl.Connected() {
			_ = ec.Publish(proxy.PingSubject(*prefix), &proxy.Request{})
			http.Error(w, "no ari-proxy of application "+*app+" announced itself yet", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /window", c.serveWindow)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("control endpoint", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	<-done
	return nil
}

// loadClient runs windows over one ari-proxy client (one NATS connection,
// as an application would have).
type loadClient struct {
	cl        ari.Client
	app, node string
	mu        sync.Mutex // one window at a time
}

func (c *loadClient) serveWindow(w http.ResponseWriter, r *http.Request) {
	var req WindowRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Inflight < 1 || req.Inflight > 4096 || req.Duration <= 0 || len(req.IDs) == 0 || req.Variable == "" {
		http.Error(w, "need 1 <= inflight <= 4096, duration_ns > 0, ids and variable", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]*ari.Key, len(req.IDs))
	for i, id := range req.IDs {
		// Complete coordinates (application and node), as a handle taken
		// from an event carries: the request goes to one proxy's subject,
		// not broadcast to the cluster.
		keys[i] = ari.NewKey(ari.ChannelKey, id, ari.WithApp(c.app), ari.WithNode(c.node))
	}
	win := closedLoop(r.Context(), req.Inflight, req.Duration, func(seq int64) error {
		return c.cl.Channel().SetVariable(keys[int(seq%int64(len(keys)))], req.Variable, req.Value)
	})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(win)
}

// closedLoop keeps inflight requests going for d: each goroutine starts
// the next request as soon as its previous one answered; none starts
// after d. The semantics of callgw-bench's closedLoop. ari-proxy's client
// takes no context: each request is bounded by its request timeout.
func closedLoop(ctx context.Context, inflight int, d time.Duration, op func(seq int64) error) Window {
	var (
		seq, errs atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		firstErr  error
		lats      = make([][]int64, inflight)
	)
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	start := time.Now()
	for g := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]int64, 0, 1024)
			for !stop.Load() && ctx.Err() == nil {
				n := seq.Add(1) - 1
				t0 := time.Now()
				err := op(n)
				took := time.Since(t0)
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				lat = append(lat, int64(took))
			}
			lats[g] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	out := Window{OK: int64(len(all)), Errors: errs.Load(), Elapsed: int64(elapsed), LatNS: all}
	if firstErr != nil {
		out.FirstErr = firstErr.Error()
	}
	return out
}
