#!/usr/bin/env bash
# A private single RabbitMQ node (rabbit-solo1@localhost on 5691) that the
# chaos suite may restart: the shared default broker is never restarted.
#   scripts/solo-broker.sh start|stop|stop-node 1|start-node 1|urls
# CALLGW_SOLO_PORT, CALLGW_SOLO_DIR and CALLGW_SOLO_NAME make another one
# (two people measuring on one machine).
export CALLGW_CLUSTER_NODES=1 CALLGW_CLUSTER_NAME="${CALLGW_SOLO_NAME:-rabbit-solo}"
export CALLGW_CLUSTER_BASE_PORT="${CALLGW_SOLO_PORT:-5691}" CALLGW_CLUSTER_DIR="${CALLGW_SOLO_DIR:-/tmp/callgw-solo}"
exec "$(dirname "$0")/cluster.sh" "$@"
