"""Render cost of the page in headless Chromium (Debian's), against the real server.

Prints, for each case, how busy the page's main thread is (Chrome's own
Performance.getMetrics TaskDuration over wall time; targets: under 5 % paused
or playing with nothing in flight, under 50 % for 9 servers playing at 1x
at 1920x1080), and for the playing case the frame times (interval between
animation frames, p50 and p95) and the bytes per second the server sent.

    python benchmarks/render.py [--seconds 8]
"""
import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from chrome_metrics import busy_fraction as busy  # noqa: E402
from serverproc import running_server  # noqa: E402

FRAMES = """async (seconds) => {
  const frames = [];
  const start = performance.now();
  const bytes0 = window.raftviz.connection.bytes;
  const records0 = window.raftviz.model.records.at(-1)?.seq ?? 0;
  await new Promise((done) => {
    let last = performance.now();
    function tick(t) {
      frames.push(t - last);
      last = t;
      if (t - start < seconds * 1000) requestAnimationFrame(tick); else done();
    }
    requestAnimationFrame(tick);
  });
  const elapsed = (performance.now() - start) / 1000;
  return { frames, elapsed, bytes: window.raftviz.connection.bytes - bytes0,
           records: (window.raftviz.model.records.at(-1)?.seq ?? 0) - records0,
           messages: window.raftviz.model.messages.size };
}"""


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def open_page(browser, url, size, nodes, seed=1):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(url)
    page.wait_for_selector("[data-node-id]")
    page.evaluate("([n, s]) => window.raftviz.send({type: 'reset', nodes: n, seed: s})", [nodes, seed])
    page.wait_for_function("n => document.querySelectorAll('[data-node-id]').length === n", arg=nodes)
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    s = args.seconds
    rows = []
    with running_server() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for nodes in (5, 9):
            page = open_page(browser, url, (1920, 1080), nodes)
            page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.2})")
            page.wait_for_timeout(2500)
            page.evaluate("() => window.raftviz.send({type: 'pause'})")
            page.wait_for_timeout(500)
            inflight = page.evaluate("() => window.raftviz.model.messages.size")
            rows.append((f"paused, {nodes} servers, {inflight} messages in flight, 1920x1080", busy(page, s), None))
            page.close()
        # The default speed before the first election: timers run, nothing is in flight.
        page = open_page(browser, url, (1280, 720), 5, seed=7)
        rows.append(("playing at the default speed, 5 servers, nothing in flight, 1280x720", busy(page, 4), None))
        page.close()
        for size, presenter in (((1920, 1080), False), ((1280, 720), True)):
            page = open_page(browser, url, size, 9)
            if presenter:
                page.keyboard.press("p")
            page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
            page.wait_for_timeout(3000)                      # elections over, steady traffic
            share = busy(page, s)
            r = page.evaluate(FRAMES, s)
            mode = "presenter" if presenter else "normal"
            rows.append((f"playing at 1x, 9 servers, {size[0]}x{size[1]} {mode}", share, r))
            page.close()
        browser.close()
    print(f"Main thread busy (Chrome's TaskDuration / wall time), {s:.0f} s per case:")
    for name, share, r in rows:
        line = f"  {name}: {share:.1%}"
        if r:
            frames = r["frames"][1:]
            line += (f"; frames p50 {percentile(frames, 0.5):.1f} ms, p95 {percentile(frames, 0.95):.1f} ms; "
                     f"server -> page {r['bytes'] / r['elapsed'] / 1024:.0f} KB/s, {r['records'] / r['elapsed']:.0f} records/s")
        print(line)
    print("Targets: under 5 % paused or with nothing in flight; under 50 % for 9 servers at 1x at 1920x1080.")


if __name__ == "__main__":
    main()
