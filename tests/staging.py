"""Moments staged in a page through its own `send`, shared by the browser tests
and docs/screenshots.py so that what is tested is what is shown."""


def stale_read(page, send) -> None:
    """A stale read: reads answered locally (an unsafe switch), the leader cut
    off with one follower, "SET x new" written at the new leader, then a read
    of x at the old one. Returns once the read is sent."""
    send({"type": "options", "options": {"unsafe_local_reads": True}})
    send({"type": "submit", "command": "SET x old", "client": 1})
    page.wait_for_function("() => window.raftviz.model.clients.ops.get(1)?.status === 'ok'", timeout=20_000)
    old = page.evaluate("() => window.raftviz.model.leader().id")
    send({"type": "partition", "groups": [[old, 1 if old != 1 else 2]]})
    page.wait_for_function("""o => [...window.raftviz.model.nodes.values()].some((n) => n.up && n.role === 'leader'
        && n.id !== o && n.term > window.raftviz.model.nodes.get(o).term)""", arg=old, timeout=20_000)
    new = page.evaluate("o => [...window.raftviz.model.nodes.values()].find((n) => n.role === 'leader' && n.id !== o).id", old)
    send({"type": "submit", "command": "SET x new", "node": new, "client": 2})
    page.wait_for_function("() => window.raftviz.model.clients.ops.get(2)?.status === 'ok'", timeout=20_000)
    send({"type": "read", "key": "x", "node": old, "client": 3})
