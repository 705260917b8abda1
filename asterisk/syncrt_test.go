package asterisk

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter counts the connections a test server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) state(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.n.Add(1)
	}
}

func newSyncServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter, *restClient) {
	t.Helper()
	var cc connCounter
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = cc.state
	ts.Start()
	t.Cleanup(ts.Close)
	c := newRESTClient(ts.URL+"/ari", "u", "p", 2*time.Second, 4)
	if _, ok := c.hc.Transport.(*syncTransport); !ok {
		t.Fatalf("plain-HTTP ARI uses %T, want *syncTransport", c.hc.Transport)
	}
	t.Cleanup(c.close)
	return ts, &cc, c
}

func TestSyncTransportAnswers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		h         http.HandlerFunc
		want      string
		status    int
		wantConns int64 // after three requests
	}{
		{"keep-alive reuses one connection", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"value":"`+r.URL.Query().Get("variable")+`"}`)
		}, "X", 200, 1},
		{"chunked answer", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"value":`)
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, `"X"}`)
		}, "X", 200, 1},
		{"Connection: close is honoured", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, `{"value":"X"}`)
		}, "X", 200, 3},
		{"error status keeps the connection", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Channel not found"}`)
		}, "", 404, 1},
		{"answer without body", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}, "", 204, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cc, c := newSyncServer(t, tc.h)
			for range 3 {
				var out struct {
					Value string `json:"value"`
				}
				method := http.MethodGet
				if tc.status == 204 {
					method = http.MethodPost
				}
				err := c.do(context.Background(), method, "/channels/a/variable", url.Values{"variable": {"X"}}, nil, &out)
				if tc.status >= 300 {
					if ariStatus(err) != tc.status {
						t.Fatalf("err %v, want status %d", err, tc.status)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if out.Value != tc.want {
					t.Fatalf("value %q, want %q", out.Value, tc.want)
				}
			}
			if got := cc.n.Load(); got != tc.wantConns {
				t.Errorf("%d connections, want %d", got, tc.wantConns)
			}
		})
	}
}

// A pooled connection the server closed while idle is seen closed before
// it is used (a peek at its socket): the POST goes on a new connection and
// reaches the server once.
func TestSyncTransportRetriesClosedIdle(t *testing.T) {
	var hits atomic.Int64
	ts, cc, c := newSyncServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" || r.ContentLength != 7 ||
			r.URL.EscapedPath() != "/ari/channels/a%20b/x" || r.URL.Query().Get("v") != "1&2" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := context.Background()
	body := map[string]int{"a": 1}
	path, q := "/channels/"+seg("a b")+"/x", url.Values{"v": {"1&2"}}
	if err := c.do(ctx, http.MethodPost, path, q, body, nil); err != nil {
		t.Fatal(err)
	}
	ts.Config.SetKeepAlivesEnabled(false) // closes the idle connection
	time.Sleep(50 * time.Millisecond)
	ts.Config.SetKeepAlivesEnabled(true)
	if err := c.do(ctx, http.MethodPost, path, q, body, nil); err != nil {
		t.Fatalf("request on a connection closed while idle: %v", err)
	}
	if hits.Load() != 2 || cc.n.Load() != 2 {
		t.Errorf("hits %d, connections %d; want 2, 2", hits.Load(), cc.n.Load())
	}
}

// A hung Asterisk: the request ends with its ctx (cancel or deadline), is
// counted as abandoned, and its connection is not reused.
func TestSyncTransportCtx(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	_, cc, c := newSyncServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ari/hang" {
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			err := c.do(ctx, http.MethodGet, "/hang", nil, nil, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if c.abandoned.Load() != 2 {
		t.Errorf("abandoned %d, want 2", c.abandoned.Load())
	}
	once.Do(func() { close(release) })
	before := cc.n.Load()
	if err := c.do(context.Background(), http.MethodGet, "/ok", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if cc.n.Load() != before+1 {
		t.Error("a connection whose request was abandoned was reused")
	}
}

// What the synchronous transport does not serve goes to http.Transport:
// another host than ARI's, and ARI over https.
func TestSyncTransportFallback(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "other")
	}))
	defer other.Close()
	_, _, c := newSyncServer(t, func(w http.ResponseWriter, r *http.Request) {})
	resp, err := c.hc.Get(other.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "other" {
		t.Errorf("fallback answer %q", b)
	}
	if st := c.hc.Transport.(*syncTransport); len(st.idle) != 0 {
		t.Errorf("the pool took a connection to another host")
	}
	tls := newRESTClient("https://127.0.0.1:1/ari", "u", "p", time.Second, 2)
	if _, ok := tls.hc.Transport.(*http.Transport); !ok {
		t.Errorf("https ARI uses %T, want *http.Transport", tls.hc.Transport)
	}
	if h := hostPort(&url.URL{Host: "pbx"}); !strings.HasSuffix(h, ":80") {
		t.Errorf("hostPort without a port: %q", h)
	}
}
