#!/usr/bin/env bash
# make chaos: the fault suite under load, long version (docs/operations.md,
# "Faults under load"). Single broker: a private node it starts and stops
# (scripts/solo-broker.sh, 127.0.0.1:5691), so that the broker restart may
# run without touching the shared broker. Cluster: when `make cluster` is
# up, the same faults plus the node stops. The tables go to
# $CHAOS_OUT (bin/chaos-report.md), the test output to bin/chaos.log.
set -u
cd "$(dirname "$0")/.."
out="${CHAOS_OUT:-bin/chaos-report.md}"
mkdir -p bin
: >"$out"
: >bin/chaos.log
go build -o bin/callgw ./cmd/callgw || exit 1
export CALLGW_BIN="$PWD/bin/callgw" CALLGW_CHAOS=long CALLGW_CHAOS_REPORT="$PWD/$out"
status=0
run() {
  local label=$1 urls=$2
  {
    echo
    echo "#### $label (${CALLGW_CHAOS_RATE:-100} lifecycles/s)"
    echo
    echo "| fault | sent | ok | errors by code | past deadline | duplicate calls | leaked calls | missing call.hangup | call.hangup per call | calls with two call.hangup | first success after |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
  } >>"$out"
  CALLGW_CHAOS_URLS="$urls" nice -n 10 go test -count=1 -timeout 40m -v ./deploy/chaos/ >>bin/chaos.log 2>&1 || status=1
}
if ./scripts/solo-broker.sh start; then
  run "single broker" "$(./scripts/solo-broker.sh urls)"
  ./scripts/solo-broker.sh stop
else
  status=1
fi
if [ -f "${CALLGW_CLUSTER_DIR:-/tmp/callgw-cluster}/urls" ]; then
  run "3-node cluster" "$(./scripts/cluster.sh urls)"
else
  echo "chaos: no cluster (make cluster) — cluster faults not run" | tee -a "$out"
fi
grep -E '^(--- |ok|FAIL)' bin/chaos.log
cat "$out"
exit $status
