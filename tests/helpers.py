"""Small drivers for scripted cluster tests."""


def run_until(cluster, condition, limit_ms=5000, on_step=None):
    """Step until condition(cluster) holds; fail if it does not within limit_ms."""
    deadline = cluster.now + limit_ms
    while not condition(cluster):
        if on_step is not None:
            on_step(cluster)
        rec = cluster.step()
        assert rec is not None, "nothing left to happen"
        assert cluster.now <= deadline, f"condition not reached within {limit_ms} ms"
    return cluster


def terms(cluster, i):
    return [e.term for e in cluster.nodes[i].log]


def deliveries(cluster, type_, src=None, dst=None, success=None):
    """Delivered messages of a type, as trace records, in order."""
    out = []
    for r in cluster.trace:
        m = r.get("message")
        if r["kind"] != "deliver" or m["type"] != type_:
            continue
        if src is not None and m["src"] != src or dst is not None and m["dst"] != dst:
            continue
        if success is not None and m.get("success", m.get("vote_granted")) != success:
            continue
        out.append(r)
    return out


def drop_appends_of(cluster, leader, index):
    """Drop every AppendEntries from `leader` in flight that carries `index`."""
    for m in list(cluster.snapshot()["messages"]):
        if m["type"] == "AppendEntries" and m["src"] == leader and any(e["index"] == index for e in m["entries"]):
            cluster.drop(m["id"])


# ----- scenario tests ----------------------------------------------------------------------
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def only_bundled(monkeypatch):
    """The bundled presets only, whatever RAFTVIZ_SCENARIOS says (import it into a test module)."""
    monkeypatch.delenv("RAFTVIZ_SCENARIOS", raising=False)
    yield


def run_to(sc, step: int):
    """Play a scenario through step `step`, every claim holding on the way."""
    while sc.index < step:
        assert sc.next() == []
    return sc.cluster


def step_records(sc):
    """The trace records of the step just played."""
    return sc.cluster.records(sc.last_start + 1, sc.cluster.seq)

