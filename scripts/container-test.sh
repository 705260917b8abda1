#!/usr/bin/env bash
# make container-test: the container image end to end. Builds the image
# (the Dockerfile's final stage, with binaries built here by the local Go:
# BINARIES=prebuilt), runs the simulator, a worker and a gateway as three
# containers on the host network against the local RabbitMQ, originates a
# call with an Idempotency-Key, replaces the worker container by a new one on
# the same volume, and shows the idempotency journal survived: the new worker
# opens it with the call's record, and the retried originate gets the same
# call instead of a second one.
#
# Runtime: $CONTAINER_RUNTIME, else podman, else docker. Where none can run a
# container the script says why and skips (exit 0), or fails under CI=true.
# Broker: a run-unique vhost on 127.0.0.1:5672 (made and deleted with
# rabbitmqctl), or CALLGW_AMQP_URL with a run-unique prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
RUN="$(date +%s)-$$"
NAME="callgw-ctest-$RUN"
IMG="localhost/callgw-ctest:$RUN"
VOL="$NAME-state"
NODE="ctest"
KEY="container-test-$RUN"
CTX=""
VHOST=""
BUILT=""

say() { echo "container-test: $*"; }
skip() {
  echo "container-test: SKIPPED: $*" >&2
  [ "${CI:-}" = "true" ] && { echo "container-test: CI=true: a skip is a failure" >&2; exit 1; }
  exit 0
}
fail() { echo "container-test: FAILED: $*" >&2; exit 1; }

pick_runtime() {
  if [ -n "${CONTAINER_RUNTIME:-}" ]; then RT="$CONTAINER_RUNTIME"
  elif command -v podman >/dev/null 2>&1; then RT=podman
  elif command -v docker >/dev/null 2>&1; then RT=docker
  else skip "no container runtime: neither podman nor docker is installed (Debian: apt-get install -y podman)"
  fi
  command -v "$RT" >/dev/null 2>&1 || skip "CONTAINER_RUNTIME=$RT is not installed"
  if [ "$(basename "$RT")" = docker ] && ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    skip "docker is installed but no Docker daemon answers (start dockerd, or install podman)"
  fi
  # crun refuses to raise the limits past the VM's; these fit every host.
  LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
}

cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$BUILT" ]; then
    for c in sim worker gateway; do
      echo "--- logs of $NAME-$c (last 25 lines)" >&2
      "$RT" logs --tail 25 "$NAME-$c" >&2 2>&1 || true
    done
  fi
  if [ -n "$BUILT" ]; then
    "$RT" rm -f -v -t 2 "$NAME-gateway" "$NAME-worker" "$NAME-sim" >/dev/null 2>&1 || true
    "$RT" volume rm -f "$VOL" >/dev/null 2>&1 || true
    "$RT" rmi -f "$IMG" >/dev/null 2>&1 || true
    # and the untagged image of the prebuilt stage
    "$RT" images -q --filter "label=callgw-ctest=$RUN" 2>/dev/null | xargs -r "$RT" rmi -f >/dev/null 2>&1 || true
  fi
  [ -n "$VHOST" ] && rabbitmqctl delete_vhost "$VHOST" >/dev/null 2>&1
  [ -n "$CTX" ] && rm -rf "$CTX"
  exit "$rc"
}
trap cleanup EXIT

# free_port prints a TCP port nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

# wait_for WHAT SECONDS COMMAND...: runs COMMAND each 0.5 s until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local until=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$until" ] || fail "$what: not within ${secs}s"
    sleep 0.5
  done
}

# build_image: the binaries by the local toolchain, then the Dockerfile's
# final stage around them (the golang stage is not built, nothing is pulled).
build_image() {
  CTX="$(mktemp -d)"
  mkdir -p "$CTX/out/state"
  chmod 0700 "$CTX/out/state"
  local ld="-s -w -X main.version=v$(cat VERSION)-ctest -X main.commit=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown) -X main.date=$(date -u +%FT%TZ)"
  say "building callgw and callctl (CGO_ENABLED=0, local Go)"
  CGO_ENABLED=0 GOOS=linux "$GO" build -trimpath -ldflags "$ld" -o "$CTX/out/callgw" ./cmd/callgw
  CGO_ENABLED=0 GOOS=linux "$GO" build -trimpath -ldflags "-s -w" -o "$CTX/out/callctl" ./cmd/callctl
  cp deploy/container/passwd deploy/container/group "$CTX/out/"
  cp /etc/ssl/certs/ca-certificates.crt "$CTX/out/" 2>/dev/null || : >"$CTX/out/ca-certificates.crt"
  say "building $IMG with $RT (Dockerfile, BINARIES=prebuilt)"
  BUILT=1
  "$RT" build -q --build-arg BINARIES=prebuilt --label "callgw-ctest=$RUN" -t "$IMG" -f Dockerfile "$CTX" >/dev/null
}

# probe: can the runtime run a container here at all? Say why not.
probe() {
  local out
  if out=$("$RT" run --rm "${LIMITS[@]}" "$IMG" version 2>&1); then
    say "the image runs: $out"
    return
  fi
  case "$out" in
    *"hybrid mode"*)
      local c fix=""
      for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null); do
        fix="$fix
    mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c"
      done
      skip "$RT cannot run a container here: $out
  This host mounts cgroups v1 and v2 side by side (hybrid) and the v2 hierarchy still holds
  controllers (${fix:+see below; }/sys/fs/cgroup/unified/cgroup.controllers), which crun refuses.
  As root, mount each of them as cgroup v1 and run again:${fix:-
    mkdir -p /sys/fs/cgroup/NAME && mount -t cgroup -o NAME cgroup /sys/fs/cgroup/NAME}" ;;
    *) skip "$RT cannot run a container here: $out" ;;
  esac
}

broker() {
  PREFIX="ctest$RUN."
  if [ -n "${CALLGW_AMQP_URL:-}" ]; then
    URL="$CALLGW_AMQP_URL"
    say "broker: CALLGW_AMQP_URL with prefix $PREFIX (its exchanges stay declared)"
    return
  fi
  (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || fail "RabbitMQ does not answer on 127.0.0.1:5672 (README: Both need … a RabbitMQ)"
  command -v rabbitmqctl >/dev/null 2>&1 || fail "rabbitmqctl is needed to make a run-unique vhost (or set CALLGW_AMQP_URL)"
  VHOST="callgw-ctest-$RUN"
  rabbitmqctl add_vhost "$VHOST" >/dev/null
  rabbitmqctl set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
  URL="amqp://guest:guest@127.0.0.1:5672/$VHOST"
  say "broker: vhost $VHOST on 127.0.0.1:5672"
}

# ctr ROLE ARGS...: a detached container of the image on the host network.
ctr() {
  local role=$1; shift
  "$RT" run -d --name "$NAME-$role" --network host "${LIMITS[@]}" \
    -e CALLGW_AMQP_URL="$URL" -e CALLGW_AMQP_PREFIX="$PREFIX" -e CALLGW_LOG_LEVEL=info \
    -e CALLGW_ARI_USER=callgw -e CALLGW_ARI_PASSWORD=ctest-secret "$@" >/dev/null
}

start_worker() {
  ctr worker -v "$VOL:/var/lib/callgw" -e CALLGW_NODE_ID="$NODE" \
    -e CALLGW_ARI_URL="http://127.0.0.1:$SIM/ari" "$IMG" worker
}

node_up() { curl -fsS "$API/v1/nodes" | grep -q "\"$NODE\""; }
worker_exited() { [ "$("$RT" inspect -f '{{.State.Running}}' "$NAME-worker")" != true ]; }
journal_opened() { "$RT" logs "$NAME-worker" 2>&1 | grep 'idempotency journal open'; }

# originate prints "STATUS ID" of POST /v1/calls with the run's key.
originate() {
  local body
  body=$(curl -sS -w '\n%{http_code}' -X POST "$API/v1/calls" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $KEY" -d '{"to":"Local/answer@callgw-test","wait":"answered"}')
  echo "$(tail -n1 <<<"$body") $(head -n -1 <<<"$body" | grep -o '"id":"[^"]*"' | head -n1 | cut -d'"' -f4)"
}

main() {
  pick_runtime
  build_image
  probe
  broker
  SIM=$(free_port); GW=$(free_port)
  API="http://127.0.0.1:$GW"
  "$RT" volume create "$VOL" >/dev/null
  ctr sim "$IMG" simulator --listen "127.0.0.1:$SIM" --node-id "$NODE"
  start_worker
  ctr gateway -e CALLGW_HTTP_ADDR="127.0.0.1:$GW" "$IMG" gateway
  say "containers up: simulator :$SIM, worker (volume $VOL at /var/lib/callgw), gateway :$GW"
  sleep 1
  worker_exited && fail "the worker container exited: $("$RT" logs --tail 5 "$NAME-worker" 2>&1)"
  wait_for "node $NODE in $API/v1/nodes" 30 node_up

  read -r st id < <(originate)
  [ "$st" = 201 ] && [ -n "$id" ] || fail "originate answered $st (want 201 and a call id)"
  say "originated call $id (Idempotency-Key $KEY): $st"

  say "replacing the worker container (same volume)"
  "$RT" stop -t 10 "$NAME-worker" >/dev/null
  "$RT" rm -f -v "$NAME-worker" >/dev/null
  start_worker
  wait_for "the new worker opening its journal" 30 journal_opened
  local line
  line=$(journal_opened | tail -n1)
  grep -Eq '"records": ?[1-9]|records=[1-9]|records[^0-9]+[1-9]' <<<"$line" ||
    fail "the new worker's journal is empty: $line"
  say "journal survived the restart: $(grep -Eo '"path": ?"[^"]*"|"records": ?[0-9]+' <<<"$line" | tr '\n' ' ')"
  wait_for "node $NODE back in $API/v1/nodes" 30 node_up

  # Until the new worker consumes, the gateway may answer 503 node_unavailable
  # ("retry later with the same key"): that is what a client does.
  local until=$((SECONDS + 30)) st2 id2
  while :; do
    read -r st2 id2 < <(originate)
    [ "$st2" = 503 ] && [ "$SECONDS" -lt "$until" ] || break
    sleep 0.5
  done
  [ "$st2" = 201 ] && [ "$id2" = "$id" ] ||
    fail "the retried originate answered $st2 $id2 (want 201 $id from the journal)"
  say "retried originate after the restart: $st2, the same call $id2 (no second call)"
  say "PASS"
}

main "$@"
