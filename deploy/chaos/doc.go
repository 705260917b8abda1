// Package chaos injects faults into a running callgw under load: gateways,
// workers and ARI simulators as separate processes, a fixed rate of call
// lifecycles (originate with wait=answered and an Idempotency-Key, hold,
// hang up), a quorum queue bound to the routed events, and a ledger of every
// request and event. Each fault is its own test; each checks what
// docs/operations.md ("Faults under load") promises and reports its row of
// the table there.
//
// Short by default (a few seconds per fault, only faults safe on the shared
// broker: `make test`); CALLGW_CHAOS=long runs the long load and every
// fault (`make chaos`), the broker restart on a private broker
// (scripts/solo-broker.sh) and the node stops on `make cluster`
// (CALLGW_CHAOS_URLS = the cluster's URLs).
package chaos
