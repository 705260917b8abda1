// Package restapi is callgw's REST CallAPI: HTTP handlers over chi that turn
// requests into calls of the gateway service, plus the event streams
// (Server-Sent Events and WebSocket), OAuth2 client-credentials tokens,
// health, readiness and Prometheus metrics.
//
// It depends on the small interfaces it defines (Calls, Bridges, Media,
// Nodes, Events, Health), which *gateway.Service, *gateway.Registry and *Hub
// satisfy; tests use func-field fakes. It never imports amqpbus or asterisk.
// Bridges and Media are found on the Calls value given to NewServer (so
// that one *gateway.Service serves every route).
//
// Invariants:
//
//   - Errors become HTTP answers in exactly one function (Server.fail): an
//     RFC 9457 application/problem+json body whose "code" is the stable
//     gateway code; httpStatus maps the code to the status. Only internal
//     errors are logged with their cause, and their cause is never shown.
//   - Request bodies are decoded strictly (one JSON object, unknown fields
//     refused, size-limited) into the gateway's argument or request types,
//     with errors that name the field. restapi checks only what is its own
//     (the query, the content type, the ids in the path); the arguments'
//     rules are the gateway's: the service runs the action's Spec.Validate
//     (or the request's Validate) before any command is built, and the
//     worker's executor runs it again.
//   - Every request that reaches the gateway service carries a deadline:
//     the "timeout" query (default Config.DefaultTimeout, at most
//     Config.MaxTimeout). An originate with wait=answered that names none
//     gets its ring time plus Config.DefaultTimeout (refused when that
//     exceeds Config.MaxTimeout). A timeout's detail says which deadline
//     passed and how to ask for another.
//   - The tenant passed in gateway.Options always comes from the
//     authenticated principal (callapi.DefaultTenant when auth is off); the
//     worker enforces it, so another tenant's call is 404, never 403.
//   - Middleware order: request id, access log and metrics, recoverer (a
//     panic is a 500 problem, never a dead process), then authentication
//     and per-route scopes.
//   - The event Hub never blocks its publisher and bounds its memory: a
//     ring of recent events for Last-Event-ID resume plus a fixed buffer
//     per subscriber; a subscriber that falls behind is dropped, counted
//     and told why.
//   - Run binds synchronously, serves until its ctx ends, ends the event
//     streams, then shuts down within Config.ShutdownTimeout. Every
//     goroutine the package starts is owned by Run or a handler.
package restapi
