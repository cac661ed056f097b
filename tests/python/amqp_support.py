"""pika helpers for the AMQP tests: a blocking connection to a gateway's AMQP port."""

import socket

import pika

TIMEOUT = 5.0


def connect(gw, user="guest", password="guest", heartbeat=None, **kw):
    params = pika.ConnectionParameters(
        host=gw.host, port=gw.amqp_port, virtual_host=kw.pop("vhost", "/"),
        credentials=pika.PlainCredentials(user, password),
        heartbeat=heartbeat, blocked_connection_timeout=TIMEOUT, socket_timeout=TIMEOUT,
        connection_attempts=1, **kw)
    return pika.BlockingConnection(params)


def raw(gw):
    """A plain socket to the AMQP port."""
    return socket.create_connection((gw.host, gw.amqp_port), timeout=TIMEOUT)


def drain(conn, channel, queue, n, timeout=TIMEOUT, auto_ack=False):
    """Consumes `n` messages from `queue` (acking them unless `auto_ack`); returns
    (method, properties, body) tuples."""
    got = []
    for method, props, body in channel.consume(queue, auto_ack=auto_ack,
                                               inactivity_timeout=timeout):
        assert method is not None, f"only {len(got)} of {n} messages arrived"
        got.append((method, props, body))
        if not auto_ack:
            channel.basic_ack(method.delivery_tag)
        if len(got) == n:
            break
    channel.cancel()
    return got
