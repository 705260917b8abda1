package restapi

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgw/callgw/callapi"
)

// reqInfo is filled in by handlers for the access log and error bodies.
// Only the request's own goroutine touches it.
type reqInfo struct {
	callID    callapi.CallID
	commandID string
	tenant    string
	// timeoutHint says which deadline the request had and how to ask for
	// another; a timeout answer adds it to its detail.
	timeoutHint string
}

type infoKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inflight      prometheus.Gauge
	streams       *prometheus.GaugeVec
	panics        prometheus.Counter
	streamDropped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgw", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "callgw", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request durations by route pattern, method and status (event streams included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method", "status"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "callgw", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served, event streams included.",
		}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "callgw", Subsystem: "http", Name: "event_streams",
			Help: "Open event streams by transport (sse, websocket).",
		}, []string{"transport"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "callgw", Subsystem: "http", Name: "panics_total",
			Help: "Handler panics recovered into 500 answers.",
		}),
		streamDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgw", Subsystem: "http", Name: "event_streams_dropped_total",
			Help: "Event streams ended by the server because the client did not keep up.",
		}, []string{"transport"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight, m.streams, m.panics, m.streamDropped)
	for _, t := range []string{"sse", "websocket"} { // exported from the start: rate() and alerts see 0
		m.streams.WithLabelValues(t)
		m.streamDropped.WithLabelValues(t)
	}
	return m
}

// closeAfterTransferEncoding closes the connection after answering a
// request with a Transfer-Encoding. net/http drops a Content-Length sent
// along with one before a handler sees it, so the two cannot be told apart
// here; such a request may be a smuggling attempt (a proxy framing it by
// Content-Length would take a second request for its body), and RFC 9112
// §6.1 asks the server to close the connection after it. Clients of this
// API send Content-Length; a chunked request costs only its connection.
func closeAfterTransferEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
			r.Close = true
		}
		next.ServeHTTP(w, r)
	})
}

// requestID gives every request an id: the client's X-Request-Id when it
// is 1–128 visible ASCII characters, else a new UUID. It is echoed in the
// X-Request-Id response header, logged, and put in problem bodies; stored
// under chi's key so that middleware.GetReqID finds it.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(middleware.RequestIDHeader)
		if id == "" || len(id) > 128 || validIdempotencyKey(id) != nil {
			id = uuid.NewString()
		}
		w.Header().Set(middleware.RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
	})
}

// accessLog logs one line per request (route pattern, status, duration,
// call id) and records the request metrics. It goes after RequestID and
// before recoverer, so that a recovered panic is logged as a 500.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		s.metrics.inflight.Inc()
		defer func() {
			s.metrics.inflight.Dec()
			st := ww.Status()
			if st == 0 {
				st = http.StatusOK // nothing written: net/http answers 200
			}
			d := time.Since(start)
			route := routePattern(r)
			method, status := methodLabel(r.Method), statusLabel(st)
			s.metrics.requests.WithLabelValues(route, method, status).Inc()
			s.metrics.duration.WithLabelValues(route, method, status).Observe(d.Seconds())
			switch s.cfg.AccessLog {
			case AccessLogOff:
				return
			case AccessLogErrors:
				slow := s.cfg.SlowRequest
				if slow <= 0 {
					slow = time.Second
				}
				if st < 400 && d < slow {
					return
				}
			}
			ce := s.log.Check(zap.InfoLevel, "request")
			if ce == nil {
				return
			}
			callID := info.callID
			if callID == "" && strings.HasPrefix(route, "/v1/calls/{id}") {
				callID = callapi.CallID(chi.URLParam(r, "id"))
			}
			// One array for the fields (no growing slice): the access log
			// is on every request's path (performance.md).
			var buf [10]zap.Field
			fields := append(buf[:0],
				zap.String("method", r.Method), zap.String("route", route), zap.String("path", r.URL.Path),
				zap.Int("status", st), zap.Duration("duration", d), zap.Int("bytes", ww.BytesWritten()),
				zap.String("request_id", middleware.GetReqID(r.Context())),
			)
			if callID != "" {
				fields = append(fields, zap.String("call_id", string(callID)))
			}
			if info.commandID != "" {
				fields = append(fields, zap.String("command_id", info.commandID))
			}
			if info.tenant != "" {
				fields = append(fields, zap.String("tenant", info.tenant))
			}
			ce.Write(fields...)
		}()
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// methodLabel bounds the method label of the request metrics: a client
// may send any token as the method, and each new one would be a new series
// (unbounded memory from unauthenticated traffic). The route label is
// bounded by the router (a pattern or "unmatched").
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusLabel bounds the status label to the codes HTTP defines.
func statusLabel(st int) string {
	if st < 100 || st > 599 {
		return "other"
	}
	return statusLabels[st-100]
}

// statusLabels are the labels of 100..599, made once.
var statusLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

// recoverer turns a handler panic into a 500 problem (when nothing was
// written yet) and logs it with its stack; the process goes on.
// http.ErrAbortHandler is re-panicked: net/http uses it to abort quietly.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(rec)
			}
			s.metrics.panics.Inc()
			s.log.Error("handler panic", zap.String("route", routePattern(r)), zap.Any("panic", rec),
				zap.String("request_id", middleware.GetReqID(r.Context())), zap.ByteString("stack", debug.Stack()))
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				return // the answer has started; the client sees a truncated body
			}
			s.fail(w, r, fmt.Errorf("restapi: panic: %v", rec))
		}()
		next.ServeHTTP(w, r)
	})
}
