package asterisk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// syncTransport is the http.RoundTripper of ARI over plain HTTP: each
// request runs on the caller's goroutine, on a pooled keep-alive
// connection: one write of the request, the read of the whole answer, and
// the connection goes back to the pool before RoundTrip returns.
//
// http.Transport runs a writer and a reader goroutine per connection and
// hands every request and answer between them and the caller over
// channels: four goroutine wake-ups per ARI request, each a futex on a
// busy host, and about a third of the worker's CPU for a command such as
// a variable set (BenchmarkARICommand, docs/performance-history.md). ARI
// answers are small and read whole by restClient.do anyway, so nothing is
// lost by reading them here.
//
// Requests it cannot serve this way (another scheme or host, a proxy from
// the environment) go to fallback, the tuned http.Transport.
type syncTransport struct {
	host        string // the URL host the pool serves
	addr        string // host:port it dials
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle     int
	idleTimeout time.Duration
	fallback    *http.Transport

	mu   sync.Mutex
	idle []*syncConn // most recently used last
}

type syncConn struct {
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	idle time.Time // when it went back to the pool
}

// maxAnswer bounds an ARI answer read by the transport (restClient.do reads
// at most as much).
const maxAnswer = 8 << 20

// syncIdleTimeout closes pooled connections idle longer than this, under
// Asterisk's http.conf session_inactivity (30 s by default): a connection
// Asterisk may have closed is not reused.
const syncIdleTimeout = 20 * time.Second

// aLongTimeAgo, set as a deadline, aborts the I/O in progress.
var aLongTimeAgo = time.Unix(1, 0)

func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.URL.Host != t.host {
		return t.fallback.RoundTrip(req)
	}
	resp, err := t.send(req.Context(), req, req.Write, func() bool {
		if req.Body == nil {
			return true
		}
		if req.GetBody == nil {
			return false
		}
		b, err := req.GetBody()
		if err != nil {
			return false
		}
		req.Body = b
		return true
	})
	if err != nil {
		closeBody(req)
	}
	return resp, err
}

// request runs one ARI request whose head and body the caller wrote in
// raw (restClient.do builds it without net/http's Request: its URL parse
// and header writer were a fifth of a request's CPU); the answer is parsed
// by net/http.
func (t *syncTransport) request(ctx context.Context, method string, raw []byte) (*http.Response, error) {
	return t.send(ctx, &http.Request{Method: method}, func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	}, func() bool { return true })
}

// send writes a request with write and reads its answer; rewind readies
// the request to be written again (false: it cannot be).
func (t *syncTransport) send(ctx context.Context, req *http.Request, write func(io.Writer) error, rewind func() bool) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		sc, reused, err := t.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, retry, err := t.exchange(ctx, sc, req, write)
		if err == nil {
			return resp, nil
		}
		_ = sc.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A reused connection that failed before any byte of the answer
		// came was most likely closed by Asterisk while idle. Send a
		// request that changes nothing again once on a new connection, as
		// http.Transport does (only GET and HEAD: a POST, PUT or DELETE
		// that Asterisk may have read must never run twice; it fails, and
		// the command's own retry rules decide).
		if reused && retry && attempt == 0 && (req.Method == http.MethodGet || req.Method == http.MethodHead) && rewind() {
			continue
		}
		return nil, err
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// get takes the most recently used idle connection, or dials one.
func (t *syncTransport) get(ctx context.Context) (sc *syncConn, reused bool, err error) {
	now := time.Now()
	t.mu.Lock()
	for n := len(t.idle); n > 0; n = len(t.idle) {
		sc = t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		if now.Sub(sc.idle) < t.idleTimeout && sc.br.Buffered() == 0 && open(sc.c) {
			t.mu.Unlock()
			return sc, true, nil
		}
		_ = sc.c.Close()
	}
	t.mu.Unlock()
	c, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	return &syncConn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096)}, false, nil
}

// put returns sc to the pool (or closes it when the pool is full).
func (t *syncTransport) put(sc *syncConn) {
	sc.idle = time.Now()
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, sc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	_ = sc.c.Close()
}

// exchange writes req on sc and reads the whole answer. On an error, sc is
// not reusable; retry says that nothing of an answer came (and not for
// lack of time).
func (t *syncTransport) exchange(ctx context.Context, sc *syncConn, req *http.Request, write func(io.Writer) error) (_ *http.Response, retry bool, _ error) {
	dl, _ := ctx.Deadline() // zero: none
	if err := sc.c.SetDeadline(dl); err != nil {
		return nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = sc.c.SetDeadline(aLongTimeAgo) })
	fail := func(what string, err error, retry bool) (*http.Response, bool, error) {
		stop()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			retry = false
			if !dl.IsZero() {
				// The connection's deadline is ctx's, and may pass a
				// moment before ctx's own timer fires: report it as
				// ctx's end, as http.Transport does.
				<-ctx.Done()
			}
		}
		return nil, retry, fmt.Errorf("ari: %s: %w", what, err)
	}
	if err := write(sc.bw); err != nil {
		return fail("write request", err, true)
	}
	if err := sc.bw.Flush(); err != nil {
		return fail("write request", err, true)
	}
	if _, err := sc.br.Peek(1); err != nil {
		return fail("read answer", err, true)
	}
	resp, err := http.ReadResponse(sc.br, req)
	if err != nil {
		return fail("read answer", err, false)
	}
	var b []byte
	if n := resp.ContentLength; n >= 0 && n < maxAnswer {
		if n > 0 { // sized at once: ARI states the length of its answers
			b = make([]byte, n)
			_, err = io.ReadFull(resp.Body, b)
		}
	} else {
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	}
	if err != nil {
		return fail("read answer", err, false)
	}
	// The answer is read whole (a longer one is cut, and its connection
	// dropped), so the connection can serve the next request at once.
	full := len(b) < maxAnswer
	if full {
		_ = resp.Body.Close() // at EOF: nothing to drain
	}
	resp.Body = &answerBody{Reader: bytes.NewReader(b), b: b}
	// stop false: ctx ended meanwhile and spoiled the deadline.
	if stop() && full && !resp.Close {
		t.put(sc)
	} else {
		_ = sc.c.Close()
	}
	return resp, false, nil
}

// answerBody is the body of an answer syncTransport read whole;
// restClient.do takes its bytes as they are.
type answerBody struct {
	*bytes.Reader
	b []byte
}

func (*answerBody) Close() error { return nil }

// CloseIdleConnections closes the pooled connections (http.Client's
// CloseIdleConnections calls it).
func (t *syncTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, sc := range idle {
		_ = sc.c.Close()
	}
	t.fallback.CloseIdleConnections()
}
