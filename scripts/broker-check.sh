#!/usr/bin/env bash
# Checks that RabbitMQ answers on the AMQP port; says how to start it if not.
set -u
url="${CALLGW_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
url="${url%%,*}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=5672
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  exit 0
fi
cat >&2 <<MSG
callgw: no RabbitMQ answers at $host:$port ($url).
Start one, then run 'make dev' again:
  sudo rabbitmq-server -detached && sudo rabbitmqctl await_startup
  (Debian/Ubuntu without it: sudo apt-get install -y rabbitmq-server)
or point CALLGW_AMQP_URL at a running broker.
MSG
exit 1
