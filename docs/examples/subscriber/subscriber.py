#!/usr/bin/env python3
"""Bind a queue to callgw's routed events with pika and print them.

    pip install pika
    python3 subscriber.py 'acme.#' '#.call.hangup.#'

The queue is server-named, exclusive and auto-deleted: it lives as long as
this program. For a queue that keeps events while your program is down,
declare a durable, named queue instead (and give it a max length).
A pattern such as 'acme.#' also matches the copies published for tags
('acme.tag.<tag>'), so a tagged call's events can arrive twice: drop
repeats by the event's "id" (done below).
Competing consumers: run several copies with the same durable queue name
bound to 'acme.*.call.created.*' and RabbitMQ hands each new call to one.
"""
import json
import os
import sys

import pika

url = os.environ.get("CALLGW_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
prefix = os.environ.get("CALLGW_AMQP_PREFIX", "")
patterns = sys.argv[1:] or ["#"]

conn = pika.BlockingConnection(pika.URLParameters(url))
ch = conn.channel()
q = ch.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
for p in patterns:
    ch.queue_bind(queue=q, exchange=prefix + "callapi.events.routed", routing_key=p)


seen = []  # recent event ids, to drop tag copies that a pattern matches too


def on_event(channel, method, properties, body):
    e = json.loads(body)
    channel.basic_ack(method.delivery_tag)
    if e["id"] in seen:
        return
    seen.append(e["id"])
    del seen[:-4096]
    e.pop("ari", None)  # the raw ARI event; left out for brevity
    print(method.routing_key, json.dumps(e), flush=True)


ch.basic_qos(prefetch_count=100)
ch.basic_consume(queue=q, on_message_callback=on_event)
print(f"bound {q} to {patterns}", file=sys.stderr)
try:
    ch.start_consuming()
except KeyboardInterrupt:
    conn.close()
