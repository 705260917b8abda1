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
//
// To see where a fault's time went: CALLGW_CHAOS_KEEP=<dir> keeps the
// processes' logs there, CALLGW_CHAOS_GWLOG and CALLGW_CHAOS_WKLOG set the
// gateway's and the workers' log levels (warn and info), and
// CALLGW_CHAOS_ACCESS the gateway's access log (errors). CALLGW_CHAOS_DOWN
// keeps a stopped piece (ARI, the broker) away longer than the long run's
// 5 s, e.g. 20s: past the load's 20 s of retries, calls whose clients gave
// up before learning of them stay up (leaked calls), as they would for a
// real client.
package chaos
