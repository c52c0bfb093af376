"""Makes the README's screenshots from the real server in Debian's Chromium:

    python docs/screenshots.py              all of them
    python docs/screenshots.py snapshot     only docs/screenshot-snapshot.png

docs/screenshot.png           the sandbox at 1280x720, a leader and commands, the event log open
docs/screenshot-presenter.png figure-7 in presenter mode at 1280x720, played with PageDown to the end of the repair
docs/screenshot-joint.png     joint consensus in presenter mode at 1280x720: S1–S3 vote, S6 was added and waits
                              outside, and the leader moves to S1–S5 through C_old,new (a pink C_old ring and a
                              dashed blue C_new ring around each of their servers)
docs/screenshot-clients.png   the Clients tab at 1280x720: four simulated clients' reads and writes as bars, the
                              history linearizable, a retried INCR marked ↻ in the logs
docs/screenshot-stale-read.png  a stale read in presenter mode at 1280x720: reads answered locally, the leader cut
                              off with one follower answers "old" after the majority wrote "new"; the check
                              outlines the three operations and the banner says Linearizability
docs/screenshot-snapshot.png  snapshot-install in presenter mode at 1280x720: S1's snapshot of Figure 12 and the
                              InstallSnapshot it sends S5, on its way
docs/screenshot-classroom.png figure-8 shared with a class, in presenter mode at 1280x720: the question answered
                              by three students on their own devices, revealed with the class's distribution
docs/screenshot-classroom-phone.png  the same moment on a student's phone (390x844), following the room
"""
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from serverproc import running_server  # noqa: E402
import staging  # noqa: E402

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


def classroom(browser, url) -> None:
    """A lecturer's projector and a student's phone, figure-8's question answered and revealed."""
    owner = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    owner.goto(url + "/?scenario=figure-8&presenter=1")
    owner.wait_for_selector("#narration .stepno")
    owner.keyboard.press("j")
    owner.wait_for_selector("#room-dialog[open]")
    code = owner.inner_text("#room-code")
    owner.keyboard.press("Escape")
    students = []
    for k in range(3):
        size = {"width": 390, "height": 844} if k == 0 else {"width": 1280, "height": 720}
        student = browser.new_context(viewport=size, device_scale_factor=2 if k == 0 else 1).new_page()
        student.goto(f"{url}/join/{code}")
        student.wait_for_selector("#room-status:not([hidden])")
        students.append(student)
    owner.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    while not owner.evaluate("() => Boolean(window.raftviz.model.scenario.question) && !window.raftviz.model.scenario.playing"):
        owner.keyboard.press("PageDown")
        owner.wait_for_timeout(400)
    for student, choice in zip(students, (1, 1, 0)):
        student.wait_for_selector("#narration .question input")
        student.locator("#narration .question input[type=radio]").nth(choice).check()
    owner.wait_for_function("() => window.raftviz.model.room.question?.answered === 3")
    owner.keyboard.press("a")
    students[0].wait_for_selector("#narration .reveal")
    owner.wait_for_timeout(400)
    owner.screenshot(path=str(HERE / "screenshot-classroom.png"))
    students[0].screenshot(path=str(HERE / "screenshot-classroom-phone.png"))
    for page in [owner, *students]:
        page.context.close()


SINGLE = {"snapshot": snapshot, "classroom": classroom}


def main() -> None:
    only = sys.argv[1:]
    with running_server() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(**LAUNCH)
        if only and set(only) <= set(SINGLE):
            for name in only:
                SINGLE[name](browser, url)
            browser.close()
            print("wrote " + ", ".join(f"docs/screenshot-{name}.png" for name in only))
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

        clients(browser, url)
        stale_read(browser, url)
        snapshot(browser, url)
        classroom(browser, url)
        browser.close()
    print("wrote docs/screenshot.png, docs/screenshot-presenter.png, docs/screenshot-joint.png, "
          "docs/screenshot-clients.png, docs/screenshot-stale-read.png, docs/screenshot-snapshot.png and "
          "docs/screenshot-classroom(-phone).png")


def started(browser, url: str, presenter: bool, size=(1280, 720)):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(url + ("/?presenter=1" if presenter else "/?presenter=0"))
    page.wait_for_selector("[data-node-id]")
    send = lambda action: page.evaluate("a => window.raftviz.send(a)", action)
    send({"type": "reset", "nodes": 5, "seed": 4})
    send({"type": "speed", "value": 0.3})
    page.wait_for_selector('[data-role="leader"]', timeout=20_000)
    return page, send


def clients(browser, url: str, path: Path = HERE / "screenshot-clients.png", presenter=False, size=(1280, 720)):
    page, send = started(browser, url, presenter, size)
    page.keyboard.press("h")
    send({"type": "clients", "n": 4, "rate": 5, "keys": 2, "read_ratio": 0.5, "timeout": 300})
    page.wait_for_timeout(4000)
    send({"type": "submit", "command": "INCR n", "client": 90, "seq": 1})
    page.wait_for_timeout(150)
    send({"type": "submit", "command": "INCR n", "client": 90, "seq": 1})     # the client retries
    page.wait_for_timeout(1200)
    page.screenshot(path=str(path))
    page.close()


def stale_read(browser, url: str, path: Path = HERE / "screenshot-stale-read.png", presenter=True, size=(1280, 720)):
    page, send = started(browser, url, presenter, size)
    page.keyboard.press("h")
    staging.stale_read(page, send)
    page.wait_for_function("() => window.raftviz.model.clients.verdict?.ok === false", timeout=20_000)
    send({"type": "pause"})
    page.wait_for_timeout(600)
    page.screenshot(path=str(path))
    page.close()


if __name__ == "__main__":
    main()
