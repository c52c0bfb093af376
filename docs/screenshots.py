"""Makes the README's screenshots from the real server in Debian's Chromium:

    python docs/screenshots.py              all of them
    python docs/screenshots.py snapshot     only docs/screenshot-snapshot.png

docs/screenshot.png           the sandbox at 1280x720, a leader and commands, the event log open
docs/screenshot-presenter.png figure-7 in presenter mode at 1280x720, played with PageDown to the end of the repair
docs/screenshot-joint.png     joint consensus in presenter mode at 1280x720: S1–S3 vote, S6 was added and waits
                              outside, and the leader moves to S1–S5 through C_old,new (the ring's two bands)
docs/screenshot-snapshot.png  snapshot-install in presenter mode at 1280x720: S1's snapshot of Figure 12 and the
                              InstallSnapshot it sends S5, on its way
"""
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from serverproc import running_server  # noqa: E402

LAUNCH = {"executable_path": "/usr/bin/chromium",
          "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]}


def snapshot(browser, url) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url + "/?scenario=snapshot-install&presenter=1")
    page.wait_for_selector("#narration .stepno")
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    for step in (1, 2):                                       # to InstallSnapshot sent
        page.keyboard.press("PageDown")
        page.wait_for_function("s => window.raftviz.model.scenario.step === s && !window.raftviz.model.scenario.playing",
                               arg=step, timeout=60_000)
    # Step 3 played slowly: the InstallSnapshot on its way while the caption tells what it does.
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.02})")
    page.keyboard.press("PageDown")
    page.wait_for_function("() => window.raftviz.model.scenario.step === 3")
    page.wait_for_timeout(300)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    page.wait_for_timeout(400)
    page.screenshot(path=str(HERE / "screenshot-snapshot.png"))


def main() -> None:
    only = sys.argv[1:]
    with running_server() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(**LAUNCH)
        if only == ["snapshot"]:
            snapshot(browser, url)
            browser.close()
            print("wrote docs/screenshot-snapshot.png")
            return
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url + "/?presenter=0")
        page.wait_for_selector("[data-node-id]")
        page.evaluate("() => window.raftviz.send({type: 'reset', nodes: 5, seed: 4})")
        page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.3})")
        page.wait_for_selector('[data-role="leader"]', timeout=20_000)
        for command in ("SET x 1", "SET y 2", "SET x 3"):
            page.evaluate("c => window.raftviz.send({type: 'submit', command: c})", command)
            page.wait_for_timeout(400)
        page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.05})")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(HERE / "screenshot.png"))

        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url + "/?scenario=figure-7&presenter=1")
        page.wait_for_selector("#narration .stepno")
        page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
        for step in (1, 2, 3):                                # to the end of the repair
            page.keyboard.press("PageDown")
            page.wait_for_function("s => window.raftviz.model.scenario.step === s && !window.raftviz.model.scenario.playing",
                                   arg=step, timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(HERE / "screenshot-presenter.png"))

        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url + "/?presenter=1")
        page.wait_for_selector("[data-node-id]")
        page.evaluate("() => window.raftviz.send({type: 'reset', nodes: 5, seed: 4, members: [1, 2, 3]})")
        page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.3})")
        page.wait_for_selector('[data-role="leader"]', timeout=20_000)
        page.evaluate("() => window.raftviz.send({type: 'submit', command: 'SET x 1'})")
        page.evaluate("() => window.raftviz.send({type: 'add_server'})")
        page.evaluate("() => window.raftviz.send({type: 'change_config', voters: [1, 2, 3, 4, 5], method: 'joint'})")
        page.evaluate("() => window.raftviz.send({type: 'pause'})")
        for _ in range(400):                                  # step until C_old,new is out, and a little more
            if page.evaluate("() => Boolean(window.raftviz.model.configuration()?.old_voters)"):
                break
            page.evaluate("() => window.raftviz.send({type: 'step'})")
            page.wait_for_timeout(20)
        for _ in range(4):
            page.evaluate("() => window.raftviz.send({type: 'step'})")
            page.wait_for_timeout(40)
        page.wait_for_timeout(500)
        page.screenshot(path=str(HERE / "screenshot-joint.png"))
        snapshot(browser, url)
        browser.close()
    print("wrote docs/screenshot.png, docs/screenshot-presenter.png, docs/screenshot-joint.png and "
          "docs/screenshot-snapshot.png")


if __name__ == "__main__":
    main()
