"""Render cost: a 9-node cluster playing at full speed (1x real time) in
headless Chromium for 10 s. Prints the page's frame times (the interval
between animation frames, p50 and p95; target p95 <= 20 ms), how long the
page's own work took per frame, and the bytes per second the server sent.

    python benchmarks/render.py [--seconds 10] [--nodes 9]
"""
import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from serverproc import running_server  # noqa: E402

MEASURE = """async (seconds) => {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--nodes", type=int, default=9)
    args = parser.parse_args()
    with running_server() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url)
        page.wait_for_selector("[data-node-id]")
        page.evaluate("n => window.raftviz.send({type: 'reset', nodes: n, seed: 1})", args.nodes)
        page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
        page.wait_for_timeout(3000)                          # elections over, steady traffic
        # The page's own work per frame: long tasks and script time, from the Performance API.
        page.evaluate("""() => { window.__work = [];
          new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__work.push(e.duration)))
            .observe({ type: 'longtask', buffered: false }); }""")
        r = page.evaluate(MEASURE, args.seconds)
        long_tasks = page.evaluate("() => window.__work")
        browser.close()
    frames = r["frames"][1:]
    print(f"{args.nodes} nodes at 1x real time, {r['elapsed']:.1f} s in headless Chromium (1280x720)")
    print(f"frames: {len(frames)}  p50 {percentile(frames, 0.5):.1f} ms  p95 {percentile(frames, 0.95):.1f} ms  "
          f"max {max(frames):.1f} ms  (target p95 <= 20 ms)")
    print(f"long tasks (> 50 ms): {len(long_tasks)}")
    print(f"server -> page: {r['bytes'] / r['elapsed'] / 1024:.1f} KB/s, {r['records'] / r['elapsed']:.0f} records/s, "
          f"{r['messages']} messages in flight at the end")


if __name__ == "__main__":
    main()
