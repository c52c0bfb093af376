"""The Redis client every part of raftviz uses (the shared store, leases and
forwarding), made once: a pool that waits for a free connection instead of
failing when a burst of requests (a class joining at once) wants more than
it holds; a failure then means Redis itself is unreachable."""
from __future__ import annotations

import redis

MAX_CONNECTIONS = 64         # per process and use; requests beyond wait their turn
WAIT = 5.0                   # s a request waits for a free connection
TIMEOUT = 2.0                # s for Redis to connect or answer


def connect(url: str) -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=WAIT,
                                                 socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
                                                 decode_responses=True)
    return redis.Redis(connection_pool=pool)
