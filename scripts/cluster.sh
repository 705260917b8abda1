#!/usr/bin/env bash
# A local three-node RabbitMQ cluster for fault tests (make cluster /
# make cluster-stop), from Debian's rabbitmq-server, beside the default
# broker and without touching it:
#   - own node names rabbit-c1@localhost .. rabbit-c3@localhost,
#   - own AMQP ports 5681..5683 and Erlang distribution ports 25681..25683,
#   - own data, log and config files and an Erlang cookie of its own, all
#     under $CALLGW_CLUSTER_DIR (default /tmp/callgw-cluster),
#   - the machine's epmd is shared (it is a name server: several nodes
#     register in it; it is never stopped here).
# The default node (rabbit@localhost on 5672) keeps its own cookie in
# /var/lib/rabbitmq and never learns of these nodes.
#
#   scripts/cluster.sh start    start (or check) the three nodes, join them, print the URLs
#   scripts/cluster.sh stop     stop the three nodes and remove the directory
#   scripts/cluster.sh status   cluster status as rabbit-c1 sees it
#   scripts/cluster.sh urls     the comma-separated URLs (CALLGW_AMQP_URL)
#   scripts/cluster.sh stop-node N / start-node N   one node (fault tests)
#   scripts/cluster.sh leader QUEUE                 node leading a quorum queue
# CALLGW_CLUSTER_NODES (3), CALLGW_CLUSTER_NAME (rabbit-c), CALLGW_CLUSTER_BASE_PORT
# (5681) and CALLGW_CLUSTER_DIR make other instances, e.g. the private single
# broker the chaos suite restarts (scripts/solo-broker.sh).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

DIR="${CALLGW_CLUSTER_DIR:-/tmp/callgw-cluster}"
BASE_PORT="${CALLGW_CLUSTER_BASE_PORT:-5681}"
N="${CALLGW_CLUSTER_NODES:-3}"
NAME="${CALLGW_CLUSTER_NAME:-rabbit-c}"
RMQ=/usr/lib/rabbitmq/bin
[ -x "$RMQ/rabbitmq-server" ] || RMQ="$(dirname "$(readlink -f "$(command -v rabbitmq-server)")")"

node_name() { echo "$NAME$1@localhost"; }
port() { echo $((BASE_PORT + $1 - 1)); }

# env_for N sets ENVV to the environment of node N (also used for its CLI).
env_for() {
  local i=$1 d="$DIR/c$1"
  ENVV=(
    "HOME=$DIR"
    "RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf"
    "RABBITMQ_CONFIG_FILE=$d/rabbitmq"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins"
    "RABBITMQ_NODENAME=$(node_name "$i")"
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
    "RABBITMQ_NODE_PORT=$(port "$i")"
    "RABBITMQ_DIST_PORT=$(($(port "$i") + 20000))"
    "RABBITMQ_MNESIA_BASE=$d/mnesia"
    "RABBITMQ_LOG_BASE=$d/log"
    "RABBITMQ_PID_FILE=$d/pid"
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    "ERL_EPMD_ADDRESS=127.0.0.1"
  )
}

ctl() { # ctl N args...: rabbitmqctl against node N with its cookie
  local i=$1
  shift
  env_for "$i"
  env "${ENVV[@]}" "$RMQ/rabbitmqctl" -n "$(node_name "$i")" "$@"
}

running() { ctl "$1" -q ping >/dev/null 2>&1; }

prepare() {
  mkdir -p "$DIR"
  if [ ! -f "$DIR/.erlang.cookie" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/.erlang.cookie")
  fi
  chmod 400 "$DIR/.erlang.cookie"
  local i d
  for i in $(seq 1 $N); do
    d="$DIR/c$i"
    mkdir -p "$d/mnesia" "$d/log"
    : >"$d/rabbitmq-env.conf"
    echo "[]." >"$d/enabled_plugins"
    echo "[]." >"$d/advanced.config"
    cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.local = 127.0.0.1:$(port "$i")
loopback_users = none
log.console = false
log.file.level = warning
cluster_partition_handling = pause_minority
CONF
  done
}

start_node() {
  local i=$1
  if running "$i"; then return 0; fi
  env_for "$i"
  env "${ENVV[@]}" "$RMQ/rabbitmq-server" -detached >"$DIR/c$i/log/start.out" 2>&1 || true
}

await_node() {
  local i=$1 k
  # await_startup fails at once for a node not registered in epmd yet.
  for k in $(seq 1 120); do running "$i" && break; sleep 0.5; done
  env_for "$i"
  if ! timeout 90 env "${ENVV[@]}" "$RMQ/rabbitmqctl" -n "$(node_name "$i")" -q await_startup >/dev/null 2>&1; then
    echo "cluster: node $(node_name "$i") did not start; see $DIR/c$i/log" >&2
    return 1
  fi
}

running_nodes() { # the running nodes of rabbit-c1's cluster, one a line
  ctl 1 -q cluster_status --formatter json 2>/dev/null | grep -o '"running_nodes":[^]]*]' | grep -o "$NAME[0-9]*@localhost" | sort
}

joined() { # node N runs in rabbit-c1's cluster
  running_nodes | grep -qx "$(node_name "$1")"
}

urls() {
  local i out=""
  for i in $(seq 1 $N); do out="$out${out:+,}amqp://guest:guest@127.0.0.1:$(port "$i")/"; done
  echo "$out"
}

cmd_start() {
  command -v "$RMQ/rabbitmq-server" >/dev/null || { echo "cluster: rabbitmq-server not installed (apt-get install -y rabbitmq-server)" >&2; exit 1; }
  prepare
  local i
  for i in $(seq 1 $N); do start_node "$i"; done
  for i in $(seq 1 $N); do await_node "$i"; done
  for i in $(seq 2 $N); do
    if ! joined "$i"; then
      ctl "$i" -q stop_app
      ctl "$i" -q reset >>"$DIR/c$i/log/join.out" 2>&1 # this node's own fresh data only
      ctl "$i" -q join_cluster "$(node_name 1)" >>"$DIR/c$i/log/join.out" 2>&1
      ctl "$i" -q start_app
      await_node "$i"
    fi
  done
  if [ "$(running_nodes | wc -l)" -ne $N ]; then
    echo "cluster: only $(running_nodes | tr '\n' ' ') running together; see $DIR/c*/log" >&2
    exit 1
  fi
  urls >"$DIR/urls"
  echo "cluster up: $(running_nodes | tr '\n' ' ')"
  echo "CALLGW_AMQP_URL=$(urls)"
}

cmd_stop() {
  local i
  [ -d "$DIR" ] || { echo "cluster: not running ($DIR absent)"; return 0; }
  for i in $(seq $N -1 1); do
    if running "$i"; then ctl "$i" -q stop >/dev/null 2>&1 || true; fi
  done
  # A node that did not stop (its pid file names it) is killed by its own pid.
  for i in $(seq 1 $N); do
    if [ -f "$DIR/c$i/pid" ]; then
      pid=$(cat "$DIR/c$i/pid" 2>/dev/null || true)
      if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null && grep -q "$NAME$i@" "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        sleep 2
        kill -9 "$pid" 2>/dev/null || true
      fi
    fi
  done
  rm -rf "$DIR"
  echo "cluster stopped"
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) ctl 1 cluster_status ;;
urls) urls ;;
stop-node) ctl "$2" -q stop_app ;;
start-node) ctl "$2" -q start_app && await_node "$2" ;;
kill-node) ctl "$2" -q stop ;;
leader) ctl 1 -q list_queues name leader --formatter json | tr '}' '\n' | grep "\"name\":\"$2\"" | grep -o "$NAME[0-9]*@localhost" | head -1 ;;
ctl) shift; i=$1; shift; ctl "$i" "$@" ;;
*)
  echo "usage: $0 start|stop|status|urls|stop-node N|start-node N|leader QUEUE" >&2
  exit 2
  ;;
esac
