"""How busy a page's main thread is, from Chrome's own metrics (shared by the
browser tests and benchmarks/render.py)."""


def busy_fraction(page, seconds: float) -> float:
    """Share of wall time the page's main thread spent in tasks: Chrome's
    Performance.getMetrics TaskDuration over the time waited."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    read = lambda: {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    a = read()
    page.wait_for_timeout(seconds * 1000)
    b = read()
    cdp.detach()
    return (b["TaskDuration"] - a["TaskDuration"]) / (b["Timestamp"] - a["Timestamp"])
