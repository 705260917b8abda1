// Package webhook delivers CallAPI events to HTTP receivers as signed
// POSTs. Subscriptions live in a RabbitMQ stream (Store); events are fanned
// out from a durable intake queue into one durable quorum queue per
// subscription (Dispatcher), and each subscription's queue is drained by a
// single active consumer among the delivery processes (Deliverer), which
// parks failed deliveries in a TTL wait queue that dead-letters them back,
// until they succeed or age out into the subscription's dead queue. See
// docs/webhooks.md.
package webhook
