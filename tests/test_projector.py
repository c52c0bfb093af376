"""The page on a projector: one unscrolled screen at 1280x720 and 1920x1080,
normal and presenter mode, 5, 7 and 9 servers; text sizes; messages that can
be clicked; lost messages marked; no work while paused; an accessibility audit.
Real server, Debian's Chromium."""
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from chrome_metrics import busy_fraction
from serverproc import running_server
import staging

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = [(1280, 720), (1920, 1080)]

# Rectangles (left, top, right, bottom) of what must be on screen, in CSS pixels,
# measured after two animation frames: what the browser paints, not a state
# between a change and the re-layout that the same frame makes.
FRAMES = "await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));"
GEOMETRY = """async () => {
  """ + FRAMES + """
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const all = (sel) => [...document.querySelectorAll(sel)].map(box);
  const narration = document.querySelector('#narration');
  return {
    viewport: [window.innerWidth, window.innerHeight],
    ring: box(document.querySelector('#cluster')),
    nodes: all('#cluster [data-node-id]'),
    logs: box(document.querySelector('#logs')),
    rows: all('[data-log-node]'),
    controls: all('#step-back, #play, #step, #speed, #timeline'),
    narration: narration.hidden ? null : box(narration),
    narrationCut: narration.hidden ? 0 : narration.scrollHeight - narration.clientHeight,
    caption: all('#narration .caption, #narration .question'),
    scrollY: window.scrollY, scrollHeight: document.documentElement.scrollHeight,
  };
}"""

# The on-screen size of every visible text of the picture.
TEXT_SIZES = """async () => {
  """ + FRAMES + """
  const out = [];
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
    && getComputedStyle(e).visibility !== 'hidden' && getComputedStyle(e).display !== 'none'; };
  for (const t of document.querySelectorAll('#cluster text')) {
    if (!t.textContent.trim() || !visible(t)) continue;
    const scale = t.getScreenCTM().a;
    out.push([t.textContent.trim().slice(0, 20), parseFloat(getComputedStyle(t).fontSize) * scale]);
  }
  const html = '#logs *, #narration .caption, #narration .prompt, #narration .choices label, #narration .reveal, ' +
    '#narration .predict, #banner strong, #banner span';
  for (const e of document.querySelectorAll(html)) {
    const own = [...e.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (own && visible(e)) out.push([e.textContent.trim().slice(0, 20), parseFloat(getComputedStyle(e).fontSize)]);
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server_url():
    with running_server() as (url, _):
        yield url


def open_page(browser: Browser, url: str, size, path="/", presenter=False) -> Page:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(url + path + (("&" if "?" in path else "?") + "presenter=1" if presenter else ""))
    expect(page.locator("[data-node-id]").first).to_be_visible()
    return page


def reset(page: Page, nodes: int):
    page.evaluate("n => window.raftviz.send({type: 'reset', nodes: n, seed: 3})", nodes)
    expect(page.locator("[data-node-id]")).to_have_count(nodes)
    expect(page.locator("[data-log-node]")).to_have_count(nodes)


def inside(inner, outer, slack=0.5):
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def assert_one_screen(page: Page):
    g = page.evaluate(GEOMETRY)
    screen = [0, 0, *g["viewport"]]
    assert g["scrollY"] == 0 and g["scrollHeight"] <= g["viewport"][1], g
    assert inside(g["ring"], screen), ("ring", g["ring"])
    for k, node in enumerate(g["nodes"]):
        assert inside(node, g["ring"]), (f"server {k + 1} (with its captions) leaves the ring's box", node, g["ring"])
    assert inside(g["logs"], screen), ("logs", g["logs"])
    for k, row in enumerate(g["rows"]):
        assert inside(row, g["logs"], slack=1), (f"log row of S{k + 1} is not in view", row, g["logs"])
    for box in g["controls"]:
        assert inside(box, screen), ("a time control is off screen", box)
    if g["narration"]:
        assert inside(g["narration"], screen), ("narration", g["narration"])
        assert g["narrationCut"] <= 1, "the narration is cut: its caption or question scrolls inside the panel"
        for box in g["caption"]:
            assert inside(box, g["narration"]), ("caption or question outside the narration", box)
    return g


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_one_screen_with_5_7_and_9_servers(browser: Browser, server_url, size, presenter):
    page = open_page(browser, server_url, size, presenter=presenter)
    for nodes in (5, 7, 9):
        reset(page, nodes)
        page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.2})")
        page.wait_for_timeout(1500)                    # an election under way, messages in flight
        assert_one_screen(page)
        if presenter:
            small = [(text, round(px, 1)) for text, px in page.evaluate(TEXT_SIZES) if px < 17.95]
            assert small == [], f"text under 18 px in presenter mode with {nodes} servers: {small[:8]}"
    if presenter:
        # Servers are at least as large as in normal mode.
        big = page.locator("[data-node-id] .shape").first.bounding_box()["width"]
        page.keyboard.press("p")
        page.wait_for_timeout(300)
        normal = page.locator("[data-node-id] .shape").first.bounding_box()["width"]
        assert big >= normal - 0.5, (big, normal)
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("scenario", ["figure-7", "figure-8-unsafe"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_scenario_played_with_the_clicker_never_scrolls(browser: Browser, server_url, scenario, size):
    """PageDown to the end, then back with PageUp, N and B: the window never moves,
    and at every step the ring, every log row, the caption and the question show,
    with presenter-sized text."""
    page = open_page(browser, server_url, size, f"/?scenario={scenario}", presenter=True)
    narration = page.locator("#narration")
    expect(narration).to_be_visible()
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    steps = int(page.evaluate("() => window.raftviz.model.scenario.steps"))
    next_button = page.locator("#scenario-next")
    for step in range(1, steps + 1):
        page.keyboard.press("PageDown")
        expect(narration.locator(".stepno")).to_have_text(f"Step {step} of {steps}")
        expect(next_button).not_to_have_text("Finish step ▸▸", timeout=30_000)
        assert_one_screen(page)
        small = [(t, round(px, 1)) for t, px in page.evaluate(TEXT_SIZES) if px < 17.95]
        assert small == [], f"step {step}: text under 18 px: {small[:8]}"
    expect(next_button).to_have_text("Done")
    banner = page.locator("#banner")
    if scenario == "figure-8-unsafe":
        expect(banner).to_be_visible()
    for key, expected in (("PageUp", steps - 1), ("b", steps - 2), ("n", steps - 1), ("PageUp", steps - 2)):
        page.keyboard.press(key)
        expect(narration.locator(".stepno")).to_have_text(f"Step {expected} of {steps}")
        page.wait_for_timeout(200)
        assert page.evaluate("window.scrollY") == 0
        assert_one_screen(page)
        if scenario == "figure-8-unsafe":
            # Once shown, the safety banner stays in view, also before the violation, until dismissed.
            expect(banner).to_be_visible()
            box = banner.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= size[1]
    if scenario == "figure-8-unsafe":
        page.locator("#banner-close").click()
        expect(banner).to_be_hidden()
        assert_one_screen(page)
    assert page.errors == []
    page.context.close()


def paused_with_messages(page: Page, nodes: int):
    reset(page, nodes)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    for _ in range(60):                                   # step until several messages are in flight
        if page.locator("[data-message-id][visibility=visible]").count() >= 3:
            break
        page.locator("#step").click()
        page.wait_for_timeout(40)
    page.wait_for_timeout(300)


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
@pytest.mark.parametrize("nodes", [5, 9])
def test_a_click_at_the_centre_of_every_message_selects_it(browser: Browser, server_url, nodes, presenter):
    page = open_page(browser, server_url, SIZES[0], presenter=presenter)
    paused_with_messages(page, nodes)
    ids = page.eval_on_selector_all("[data-message-id][visibility=visible]", "els => els.map(e => e.dataset.messageId)")
    assert len(ids) >= 3
    for mid in ids:
        body = page.locator(f'[data-message-id="{mid}"] .body').bounding_box()
        page.mouse.click(body["x"] + body["width"] / 2, body["y"] + body["height"] / 2)
        expect(page.locator(f'[data-message-id="{mid}"]')).to_have_class(re.compile("selected"))
        expect(page.locator("#inspector h3").first).to_contain_text(f"#{mid} ")
        page.wait_for_timeout(120)                        # a re-layout (the inspector opening) settles
    assert page.errors == []
    page.context.close()


def test_fanned_out_messages_cover_neither_each_other_nor_their_sender(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    reset(page, 5)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    page.evaluate("() => window.raftviz.send({type: 'timeout', node: 1})")   # four RequestVotes at one moment
    page.wait_for_timeout(400)
    boxes = page.evaluate("""() => [...document.querySelectorAll('[data-message-id][visibility=visible] .body')]
        .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
    sender = page.evaluate("""() => { const r = document.querySelector('[data-node-id="1"]').getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom]; }""")
    assert len(boxes) == 4
    overlap = lambda a, b: a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    for i, a in enumerate(boxes):
        assert not overlap(a, sender), ("a message covers its sender", a, sender)
        for b in boxes[i + 1:]:
            assert not overlap(a, b), ("two messages cover each other", a, b)
    page.context.close()


def test_a_lost_message_leaves_a_mark_where_it_dies(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    paused_with_messages(page, 5)
    mid = page.locator("[data-message-id][visibility=visible]").first.get_attribute("data-message-id")
    page.evaluate("m => window.raftviz.send({type: 'drop', message: Number(m)})", mid)
    expect(page.locator(f'[data-message-id="{mid}"]')).to_have_count(0)
    expect(page.locator("#cluster .death")).to_have_count(1)
    # A message into a partition dies on arrival, with the same mark.
    page.evaluate("() => window.raftviz.send({type: 'partition', groups: [[1, 2]]})")
    for _ in range(80):
        page.locator("#step").click()
        if page.evaluate("() => window.raftviz.model.records.at(-1).kind") == "drop":
            break
    assert page.evaluate("() => window.raftviz.model.records.at(-1).kind") == "drop"
    expect(page.locator("#cluster .death")).to_have_count(1)
    page.context.close()


def test_a_paused_page_does_no_work(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[1])
    paused_with_messages(page, 9)
    busy = busy_fraction(page, 2.0)
    print(f"paused, 9 servers, messages in flight: main thread busy {busy:.1%}")
    assert busy < 0.05, f"a paused page keeps its main thread busy {busy:.1%} of the time"
    page.context.close()


def test_dialogs_pause_the_cluster_and_resume_it(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    mode = page.locator("#mode-readout")
    expect(mode).to_have_text("playing")
    for key, dialog in (("l", "#legend"), ("?", "#help"), ("s", "#scenarios")):
        page.keyboard.press(key)
        expect(page.locator(dialog)).to_be_visible()
        expect(mode).to_have_text("paused")
        page.keyboard.press("Escape")
        expect(page.locator(dialog)).to_be_hidden()
        expect(mode).to_have_text("playing")
    page.context.close()


def test_lecture_keys(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0], presenter=True)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.3})")
    leader = page.locator('[data-role="leader"][data-up="true"]')
    expect(leader).to_have_count(1, timeout=20_000)
    old = leader.get_attribute("data-node-id")
    page.keyboard.press("c")                                   # a client command to the leader
    expect(page.locator(f'[data-log-node="{old}"] .cell')).not_to_have_count(0)
    page.keyboard.press("k")                                   # no selection: the leader crashes
    expect(page.locator(f'[data-node-id="{old}"]')).to_have_attribute("data-up", "false")
    page.keyboard.press("r")                                   # and restarts
    expect(page.locator(f'[data-node-id="{old}"]')).to_have_attribute("data-up", "true")
    page.locator('[data-node-id="3"]').click()                 # selected, in presenter mode the drawer stays shut
    expect(page.locator("#drawer")).to_be_hidden()
    before = page.evaluate("() => window.raftviz.model.records.length")
    page.keyboard.press("t")
    page.wait_for_function("""() => window.raftviz.model.records.some(
        (r) => r.text.includes("S3's election timer is made to fire now"))""")
    page.keyboard.press("?")
    for key in ("Page Down", "C", "K", "R", "T"):
        expect(page.locator("#help-keys")).to_contain_text(key)
    assert page.evaluate("() => window.raftviz.model.records.length") > before
    page.context.close()


def test_a_restarted_follower_says_whom_it_follows(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.3})")
    expect(page.locator('[data-role="leader"][data-up="true"]')).to_have_count(1, timeout=20_000)
    leader = page.locator('[data-role="leader"][data-up="true"]').get_attribute("data-node-id")
    follower = next(i for i in "12345" if i != leader)
    page.evaluate("n => window.raftviz.send({type: 'crash', node: n})", int(follower))
    page.evaluate("n => window.raftviz.send({type: 'restart', node: n})", int(follower))
    expect(page.locator(f'[data-captions-of="{follower}"] .caption.sub')).to_have_text(f"follows S{leader}", timeout=10_000)
    page.context.close()


def test_the_loss_field_speaks_in_percent(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    page.locator('.tab[data-drawer="network"]').click()
    page.locator("#loss").fill("150")
    page.locator("#network-apply").click()
    expect(page.locator(".toast.error")).to_contain_text("0 to 100 %")
    assert page.evaluate("() => window.raftviz.model.network.loss") == 0
    page.context.close()


def axe_violations(page: Page) -> list:
    """The serious and critical accessibility violations axe-core finds in the page now."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
    }""")


@pytest.mark.parametrize("where", ["sandbox", "scenario", "presenter"])
def test_accessibility_audit(browser: Browser, server_url, where):
    """axe-core (from npm, pinned by the lockfile): no serious or critical violation."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run npm ci (make test does)")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    page = context.new_page()
    path = {"sandbox": "/", "scenario": "/?scenario=figure-7", "presenter": "/?scenario=figure-8&presenter=1"}[where]
    page.goto(server_url + path)
    expect(page.locator("[data-node-id]").first).to_be_visible()
    page.wait_for_timeout(1500)
    result = axe_violations(page)
    assert result == [], json.dumps(result, indent=1)
    context.close()


CUT_COMMANDS = """async () => {
  """ + FRAMES + """
  return [...document.querySelectorAll('#logs .cell .c')]
    .filter((c) => c.offsetParent !== null && c.textContent && c.scrollWidth > c.clientWidth + 1)
    .map((c) => c.textContent);
}"""


def test_presenter_mode_shows_commands_whole_or_not_at_all(browser: Browser, server_url):
    """The climax of figure-8-unsafe is SET x 2 against SET x 3: never "SET x…"."""
    page = open_page(browser, server_url, SIZES[0], "/?scenario=figure-8-unsafe", presenter=True)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    steps = int(page.evaluate("() => window.raftviz.model.scenario.steps"))
    for step in range(1, steps + 1):
        page.keyboard.press("PageDown")
        page.wait_for_function("s => window.raftviz.model.scenario.step === s && !window.raftviz.model.scenario.playing",
                               arg=step, timeout=30_000)
        assert page.evaluate(CUT_COMMANDS) == [], f"step {step}: commands cut short"
    shown = page.eval_on_selector_all("#logs .cell .c", "cs => cs.filter(c => c.offsetParent).map(c => c.textContent)")
    assert "SET x 3" in shown and "SET x 2" in shown, shown
    page.context.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_scenario_stepped_with_the_buttons_in_normal_mode(browser: Browser, server_url, size):
    page = open_page(browser, server_url, size, "/?scenario=figure-8")
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    narration = page.locator("#narration")
    steps = int(page.evaluate("() => window.raftviz.model.scenario.steps"))
    for step in range(1, steps + 1):
        page.locator("#scenario-next").click()
        expect(narration.locator(".stepno")).to_have_text(f"Step {step} of {steps}")
        expect(page.locator("#scenario-next")).not_to_have_text("Finish step ▸▸", timeout=30_000)
        assert_one_screen(page)
    narration.get_by_role("button", name="◂ Back").click()
    expect(narration.locator(".stepno")).to_have_text(f"Step {steps - 1} of {steps}")
    assert_one_screen(page)
    page.context.close()


OVERLAPS = """async () => {
  """ + FRAMES + """
  const box = (e) => e.getBoundingClientRect();
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const msgs = [...document.querySelectorAll('[data-message-id][visibility=visible]')].map((g) => {
    const m = window.raftviz.model.messages.get(Number(g.dataset.messageId));
    return { id: g.dataset.messageId, src: m.src, dst: m.dst, r: box(g.querySelector('.body')) };
  });
  const captions = [...document.querySelectorAll('[data-captions-of] .caption')]
    .filter((t) => t.textContent).map((t) => ({ of: Number(t.parentNode.dataset.captionsOf), r: box(t) }));
  const found = [];
  msgs.forEach((a, i) => {
    for (const b of msgs.slice(i + 1)) if (hit(a.r, b.r)) found.push(`#${a.id} covers #${b.id}`);
    for (const c of captions) if (c.of !== a.src && c.of !== a.dst && hit(a.r, c.r)) found.push(`#${a.id} covers S${c.of}'s caption`);
  });
  return found;
}"""


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_messages_never_cover_each_other_or_other_servers_captions(browser: Browser, server_url, presenter):
    """Forty moments of an election and the first heartbeats, one event at a time."""
    page = open_page(browser, server_url, SIZES[0], presenter=presenter)
    reset(page, 5)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    page.evaluate("() => window.raftviz.send({type: 'timeout', node: 2})")
    for k in range(40):
        page.locator("#step").click()
        page.wait_for_timeout(60)
        found = page.evaluate(OVERLAPS)
        assert found == [], f"after step {k + 1}: {found}"
    page.context.close()


def test_each_leader_shows_its_pointers_on_its_own_followers(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    reset(page, 5)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.5})")
    expect(page.locator('[data-role="leader"]')).to_have_count(1, timeout=20_000)
    old = int(page.locator('[data-role="leader"]').get_attribute("data-node-id"))
    minority = [old, 1 if old != 1 else 2]
    page.evaluate("g => window.raftviz.send({type: 'partition', groups: [g]})", minority)
    expect(page.locator('[data-role="leader"]')).to_have_count(2, timeout=30_000)   # two leaders, two terms
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    page.wait_for_timeout(300)
    rows = page.evaluate("""() => [...document.querySelectorAll('[data-log-node]')].map((row) => {
        const n = window.raftviz.model.nodes.get(Number(row.dataset.logNode));
        const leader = window.raftviz.model.nodes.get(n.leader_id);
        const label = row.querySelector('.who').textContent;
        return { id: n.id, role: n.role, label, next: leader && leader.role === 'leader' && leader.id !== n.id
                 && leader.term === n.term ? leader.next_index[n.id] : null,
                 match: leader && leader.role === 'leader' && leader.id !== n.id && leader.term === n.term
                 ? leader.match_index[n.id] : null };
    })""")
    for r in rows:
        if r["role"] == "leader":
            assert "leader" in r["label"] and "next" not in r["label"], r
        elif r["next"] is not None:
            assert f"next {r['next']} · match {r['match']}" in r["label"], r
    page.context.close()


def test_a_long_log_folds_its_shared_committed_prefix_and_keeps_the_action_in_view(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0], presenter=True)
    reset(page, 5)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    expect(page.locator('[data-role="leader"]')).to_have_count(1, timeout=20_000)
    for k in range(60):
        page.evaluate("k => window.raftviz.send({type: 'submit', command: `SET k ${k}`})", k)
    page.wait_for_function("""() => [...window.raftviz.model.nodes.values()].every((n) => n.commit_index >= 60)""",
                           timeout=30_000)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    fold = page.locator("#logs .fold.prefix")
    expect(fold).to_have_count(1)
    expect(fold).to_contain_text("committed")
    leader = page.evaluate("() => window.raftviz.model.leader()")
    logs = page.locator("#logs").bounding_box()
    for node in range(1, 6):
        cell = page.locator(f'[data-log-node="{node}"] .cell[data-index="{leader["commit_index"]}"]')
        box = cell.bounding_box()
        assert box and logs["x"] <= box["x"] and box["x"] + box["width"] <= logs["x"] + logs["width"] + 1, node
    fold.click()                                               # opens: the first entries show
    expect(page.locator('[data-log-node="1"] .cell[data-index="1"]')).to_be_visible()
    page.context.close()


def test_figure_7_labels_the_followers_in_the_ring_and_the_logs(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0], "/?scenario=figure-7", presenter=True)
    expect(page.locator('[data-captions-of="7"] .label')).to_have_text("(f)")
    expect(page.locator('[data-log-node="2"] .who')).to_contain_text("(a)")
    expect(page.locator('[data-node-id="4"]')).to_have_attribute("aria-label", re.compile(r"^S4 \(c\), term"))
    page.context.close()


# ----- a cluster that grows (issue 12) ---------------------------------------------------

# Each server's shape and the texts drawn for it (name, term, label, captions), and the
# lines across the top of the ring (the configuration, a partition).
SERVER_BOXES = """async () => {
  """ + FRAMES + """
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const union = (bs) => [Math.min(...bs.map((b) => b[0])), Math.min(...bs.map((b) => b[1])),
                         Math.max(...bs.map((b) => b[2])), Math.max(...bs.map((b) => b[3]))];
  const servers = [...document.querySelectorAll('#cluster [data-node-id]')].map((g) => {
    const id = g.dataset.nodeId;
    const texts = [...document.querySelectorAll(`[data-captions-of="${id}"] text`)].filter((t) => t.textContent.trim());
    return { id, box: union([box(g.querySelector('.shape')), ...texts.map(box)]) };
  });
  const lines = [...document.querySelectorAll('#cluster .status-line')].map(box);
  return { servers, lines, ring: box(document.querySelector('#cluster')) };
}"""


def assert_servers_apart(page: Page):
    g = page.evaluate(SERVER_BOXES)
    hit = lambda a, b: a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5
    for k, a in enumerate(g["servers"]):
        assert inside(a["box"], g["ring"]), (f"S{a['id']} leaves the ring's box", a, g["ring"])
        for b in g["servers"][k + 1:]:
            assert not hit(a["box"], b["box"]), (f"S{a['id']} and S{b['id']} overlap", a, b)
        for line in g["lines"]:
            assert not hit(a["box"], line), (f"S{a['id']} lies under the configuration's line", a, line)
    for line in g["lines"]:
        assert inside(line, g["ring"]), ("a line of the ring's text runs off it", line, g["ring"])
    return g


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_a_cluster_grown_to_9_servers_by_add_server_stays_on_one_screen(browser: Browser, server_url, size, presenter):
    """5 servers, then 4 added one by one while playing: the ring lays itself out
    again each time, no server (with its captions) overlaps another, the page fits,
    and presenter text stays 18 px; the same during joint consensus, with its rings."""
    page = open_page(browser, server_url, size, presenter=presenter)
    reset(page, 5)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.3})")
    expect(page.locator('[data-role="leader"]')).to_have_count(1, timeout=20_000)
    for n in range(6, 10):
        page.evaluate("() => window.raftviz.send({type: 'add_server'})")
        expect(page.locator("[data-node-id]")).to_have_count(n)
        expect(page.locator("[data-log-node]")).to_have_count(n)
        expect(page.locator(f'[data-node-id="{n}"]')).to_have_attribute("data-member", "outside")
        assert_one_screen(page)
        g = assert_servers_apart(page)
        assert g["lines"], "the configuration's line (who is outside) is shown"
    assert page.evaluate("() => window.raftviz.send({type: 'add_server'})")["ok"] is False   # 9 at most
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    page.evaluate("() => window.raftviz.send({type: 'change_config', voters: [3, 4, 5, 6, 7, 8, 9]})")
    # One event at a time until C_old,new is the ring's configuration (playing, it may pass before a pause lands).
    page.evaluate("""async () => {
      for (let k = 0; k < 2000 && !window.raftviz.model.configuration()?.old_voters; k++) {
        await window.raftviz.send({type: 'step'});
        await new Promise((r) => setTimeout(r, 0));
      }
    }""")
    page.wait_for_function("() => window.raftviz.model.configuration()?.old_voters", timeout=30_000)
    expect(page.locator("#cluster .node.in-old")).to_have_count(5)      # C_old = S1–S5: a ring each
    expect(page.locator("#cluster .node.in-new")).to_have_count(7)
    assert_one_screen(page)
    assert_servers_apart(page)
    if presenter:
        small = [(t, round(px, 1)) for t, px in page.evaluate(TEXT_SIZES) if px < 17.95]
        assert small == [], f"text under 18 px in presenter mode: {small[:8]}"
        assert page.evaluate(CUT_COMMANDS) == [], "a configuration's label is cut short"
    assert page.errors == []
    page.context.close()


def test_accessibility_audit_of_the_members_pane_and_dialog(browser: Browser, server_url):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run npm ci (make test does)")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    page = context.new_page()
    page.goto(server_url + "/")
    expect(page.locator("[data-node-id]").first).to_be_visible()
    page.evaluate("() => window.raftviz.send({type: 'reset', nodes: 5, seed: 3, members: [1, 2, 3]})")
    page.evaluate("() => window.raftviz.send({type: 'add_server'})")
    expect(page.locator("[data-node-id]")).to_have_count(6)
    page.keyboard.press("m")
    expect(page.locator("#own-configs tr")).to_have_count(6)
    page.add_script_tag(path=str(AXE))
    audit = """async () => {
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
    }"""
    assert page.evaluate(audit) == []
    page.get_by_role("button", name="Change members…").click()
    expect(page.locator("#members-dialog")).to_be_visible()
    expect(page.locator("#members-choices input").first).to_be_focused()    # the keyboard lands in the dialog
    assert page.evaluate(audit) == []
    context.close()


# ----- the Clients pane (issue 13) ---------------------------------------------------------

CLIENTS_PANE = """async () => {
  """ + FRAMES + """
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const pane = document.querySelector('.pane[data-pane="clients"]');
  const controls = [...pane.querySelectorAll('button, input, select, summary')].filter((e) => e.checkVisibility())
    .map((e) => [e.id || e.textContent, box(e)]);
  const ops = [...document.querySelectorAll('#history-chart [data-op-id]')].map((g) => ({
    id: g.dataset.opId, lane: g.querySelector('.bar').getBoundingClientRect().top,
    label: box(g.querySelector('.label')), bar: box(g.querySelector('.bar')),
    px: parseFloat(getComputedStyle(g.querySelector('.label')).fontSize) }));
  const texts = [...document.querySelectorAll('#history-chart text')].filter((t) => t.textContent.trim())
    .map((t) => [t.textContent, parseFloat(getComputedStyle(t).fontSize)]);
  return { pane: box(pane), scroll: pane.scrollHeight - pane.clientHeight, chart: box(document.querySelector('#history-chart')),
           verdict: box(document.querySelector('#verdict')), controls, ops, texts };
}"""


def clients_running(page: Page, stale: bool = False):
    """Clients running in a 5-server cluster, the Clients tab open; with `stale`, then a
    stale read made (reads answered locally, the leader cut off with one follower, a
    write at the new leader, a read at the old) and the cluster paused."""
    reset(page, 5)
    send = lambda a: page.evaluate("a => window.raftviz.send(a)", a)
    send({"type": "speed", "value": 0.5})
    expect(page.locator('[data-role="leader"]')).to_have_count(1, timeout=20_000)
    page.keyboard.press("h")
    expect(page.locator("#drawer")).to_be_visible()
    if not stale:
        send({"type": "clients", "n": 4, "rate": 10, "read_ratio": 0.5})
        expect(page.locator("#history-chart [data-op-id]").first).to_be_visible(timeout=20_000)
        page.wait_for_timeout(1500)
        return
    staging.stale_read(page, send)
    expect(page.locator("#verdict")).to_contain_text("Not linearizable", timeout=15_000)
    send({"type": "pause"})
    page.wait_for_timeout(300)


@pytest.mark.parametrize("stale", [False, True], ids=["running", "stale-read"])
@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_the_clients_pane_fits_one_screen_at_1280x720(browser: Browser, server_url, presenter, stale):
    """The Clients tab beside the picture: the page still one screen, the pane needs
    no scrolling (verdict, chart and every control in view), bars never cover
    another's label, and in presenter mode the chart's text is 18 px."""
    page = open_page(browser, server_url, SIZES[0], presenter=presenter)
    clients_running(page, stale)
    assert_one_screen(page)
    g = page.evaluate(CLIENTS_PANE)
    screen = [0, 0, *SIZES[0]]
    assert inside(g["pane"], screen), g["pane"]
    assert g["scroll"] <= 1, f"the Clients pane scrolls by {g['scroll']} px at 1280x720"
    for name, box in g["controls"]:
        assert inside(box, g["pane"], slack=1), (f"{name} is outside the pane", box, g["pane"])
    assert g["chart"][3] - g["chart"][1] >= 120, ("the chart is too short to read", g["chart"])
    assert g["ops"], "no bar is drawn"
    if stale:
        assert len([o for o in g["ops"]]) >= 3
    hit = lambda a, b: a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5
    for k, a in enumerate(g["ops"]):
        assert inside(a["label"], g["chart"], slack=1) or a["label"][2] > g["chart"][2], ("a label leaves the chart", a)
        for b in g["ops"][k + 1:]:
            assert not hit(a["label"], b["label"]), ("two labels overlap", a, b)
            assert not hit(a["label"], b["bar"]) and not hit(b["label"], a["bar"]), ("a bar covers a label", a, b)
    if presenter:
        small = [(t, px) for t, px in g["texts"] if px < 17.95]
        assert small == [], f"chart text under 18 px in presenter mode: {small[:6]}"
    assert page.errors == []
    page.context.close()


def test_a_paused_page_with_the_clients_pane_open_does_no_work(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0])
    clients_running(page)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    page.wait_for_timeout(2500)                                # the server's last check arrives
    drawn = page.evaluate("() => document.querySelector('#history-chart svg')")
    busy = busy_fraction(page, 2.0)
    print(f"paused, Clients pane open: main thread busy {busy:.1%}")
    assert busy < 0.05, f"a paused page with the Clients pane keeps its main thread busy {busy:.1%} of the time"
    # Nothing is redrawn while nothing changes: the chart is the same element.
    assert page.evaluate("() => document.querySelector('#history-chart svg')") == drawn
    page.context.close()


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_accessibility_audit_of_the_clients_pane(browser: Browser, server_url, presenter):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run npm ci (make test does)")
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    page = context.new_page()
    page.goto(server_url + ("/?presenter=1" if presenter else "/?presenter=0"))
    expect(page.locator("[data-node-id]").first).to_be_visible()
    page.errors = []
    clients_running(page, stale=True)
    result = axe_violations(page)
    assert result == [], json.dumps(result, indent=1)
    context.close()


# ----- configuration changes on the projector (issue 12 review) ---------------------------

def play_to(page: Page, step: int):
    """PageDown until the scenario has played `step` steps (each to its end)."""
    page.wait_for_function("() => window.raftviz.model.scenario")
    page.wait_for_timeout(100)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 1})")
    while page.evaluate("() => window.raftviz.model.scenario.step") < step:
        now = page.evaluate("() => window.raftviz.model.scenario.step")
        page.keyboard.press("PageDown")
        page.wait_for_function("s => window.raftviz.model.scenario.step === s && !window.raftviz.model.scenario.playing",
                               arg=now + 1, timeout=60_000)
    page.wait_for_timeout(300)


def servers(page: Page):
    """What the ring says of each server: its role caption, its own standing, its badge."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#cluster [data-node-id]')].map((g) => {
      const id = g.dataset.nodeId;
      const caps = document.querySelector(`[data-captions-of="${id}"]`);
      return [id, { caption: caps.querySelector('.caption').textContent, member: g.dataset.member,
                    badge: g.dataset.badge, cls: g.getAttribute('class'),
                    badgeShown: caps.querySelector('.badge').getAttribute('visibility') === 'visible' }];
    }))""")


CONFIG_LABELS = """async () => {
  """ + FRAMES + """
  return [...document.querySelectorAll('#logs .cell[data-kind="config"]')].map((c) => {
    const t = c.querySelector('.c');
    const r = c.getBoundingClientRect();
    return { node: c.closest('[data-log-node]').dataset.logNode, index: Number(c.dataset.index), text: t.textContent,
             shown: t.offsetParent !== null && getComputedStyle(t).display !== 'none' && t.getBoundingClientRect().width > 0,
             cut: t.scrollWidth > t.clientWidth + 1, px: parseFloat(getComputedStyle(t).fontSize),
             inside: t.getBoundingClientRect().right <= r.right + 0.5 && t.getBoundingClientRect().left >= r.left - 0.5 };
  });
}"""


def assert_config_labels_legible(page: Page, presenter=True):
    labels = page.evaluate(CONFIG_LABELS)
    for c in labels:
        assert c["shown"] and not c["cut"] and c["inside"], ("a configuration entry's label is hidden or cut", c)
        if presenter:
            assert c["px"] >= 17.95, ("a configuration entry's label under 18 px", c)
    return labels


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_conflicting_majorities_shows_each_servers_own_configuration(browser: Browser, server_url, size):
    """Each server's standing comes from its own configuration, and servers that use
    another configuration than the ring's are marked: steps 1 and 2 show S1 and S2
    still on {S1–S3} while S3 uses C_new; at step 3 S4 voted as a voter of C_new and
    S5 leads as one (no learner in sight), and S1 and S2 are marked as using C_old."""
    page = open_page(browser, server_url, size, "/?scenario=conflicting-majorities", presenter=True)
    play_to(page, 1)
    s = servers(page)
    assert s["3"]["member"] == "voter" and s["3"]["caption"] == "leader", s["3"]
    for i in ("1", "2"):
        assert "S1–S3" in s[i]["badge"] and s[i]["badgeShown"], (i, s[i])
    assert "S1–S5" not in s["1"]["badge"]
    play_to(page, 2)
    s = servers(page)
    for i in ("1", "2"):
        assert "S1–S3" in s[i]["badge"] and s[i]["badgeShown"], (i, s[i])
    assert s["4"]["member"] == "voter" and s["4"]["caption"] != "learner", s["4"]       # S4 has C_new
    play_to(page, 3)
    s = servers(page)
    assert s["4"]["caption"] == "follower" and s["4"]["member"] == "voter", s["4"]
    assert s["5"]["caption"] == "leader" and "learner" not in s["5"]["cls"].split(), s["5"]
    assert s["1"]["caption"] == "leader" and s["1"]["member"] == "voter", s["1"]
    for i in ("1", "2"):
        assert "S1–S3" in s[i]["badge"] and s[i]["badgeShown"], ("S1 and S2 use C_old: marked", i, s[i])
    expect(page.locator('[data-log-node="4"] .who')).not_to_contain_text("learner")
    expect(page.locator('[data-log-node="5"] .who')).not_to_contain_text("learner")
    expect(page.locator("#banner")).to_be_visible()
    assert_one_screen(page)
    assert_servers_apart(page)
    small = [(t, round(px, 1)) for t, px in page.evaluate(TEXT_SIZES) if px < 17.95]
    assert small == [], f"text under 18 px: {small[:8]}"
    assert_config_labels_legible(page)
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("drawer", ["e", "m", "i"])
def test_a_side_panel_open_beside_a_scenario_keeps_the_ring_apart_and_everything_in_view(browser: Browser, server_url, drawer):
    """1280x720, presenter mode, the safety banner up, a long caption and its answer:
    with Events, Members or the Inspector open, no two servers overlap, every log row
    and the whole caption and answer show."""
    page = open_page(browser, server_url, SIZES[0], "/?scenario=conflicting-majorities", presenter=True)
    play_to(page, 3)
    page.keyboard.press(drawer)
    expect(page.locator("#drawer")).to_be_visible()
    page.wait_for_timeout(300)
    assert_one_screen(page)
    assert_servers_apart(page)
    expect(page.locator("#narration details.answered summary")).to_be_visible()
    assert_config_labels_legible(page)
    small = [(t, round(px, 1)) for t, px in page.evaluate(TEXT_SIZES) if px < 17.95]
    assert small == [], f"text under 18 px: {small[:8]}"
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("drawer", [None, "e"], ids=["alone", "events"])
def test_removed_server_disruption_step_1_in_view(browser: Browser, server_url, drawer):
    """S1 still uses {S1–S4}, in which it votes: it is a follower, not 'outside', and
    marked as using another configuration; every answer choice shows; the
    configuration entry at index 1 is never folded away."""
    page = open_page(browser, server_url, SIZES[0], "/?scenario=removed-server-disruption", presenter=True)
    if drawer:
        page.keyboard.press(drawer)
    play_to(page, 1)
    s = servers(page)
    assert s["1"]["member"] == "voter" and s["1"]["caption"] == "follower", s["1"]
    assert "S1–S4" in s["1"]["badge"], s["1"]
    expect(page.locator('[data-log-node="1"] .who')).not_to_contain_text("outside")
    g = assert_one_screen(page)
    choices = page.locator("#narration .choices label")
    expect(choices).to_have_count(3)
    for k in range(3):
        box = choices.nth(k).bounding_box()
        assert inside([box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]], g["narration"]), k
    for node in range(1, 5):
        cell = page.locator(f'[data-log-node="{node}"] .cell[data-index="1"]')
        expect(cell).to_be_visible()
        expect(cell).to_have_attribute("data-kind", "config")
    assert_servers_apart(page)
    assert_config_labels_legible(page)
    page.context.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_configuration_entries_carry_a_legible_label(browser: Browser, server_url, size, presenter):
    """catch-up-learner: S1's index 9 adds S4 as a learner, and its cell says so
    ("+S4 L", the same at every width), whole, at 18 px or more in presenter mode;
    the full text is in its tooltip."""
    page = open_page(browser, server_url, size, "/?scenario=catch-up-learner", presenter=presenter)
    play_to(page, 1)
    cell = page.locator('[data-log-node="1"] .cell[data-index="9"]')
    expect(cell).to_have_attribute("data-kind", "config")
    expect(cell.locator(".c")).to_have_text("+S4 L")
    expect(cell).to_have_attribute("title", re.compile("learner S4"))
    assert_config_labels_legible(page, presenter)
    play_to(page, 3)
    expect(page.locator('[data-log-node="1"] .cell[data-index="11"] .c')).to_have_text("+S4")
    assert_config_labels_legible(page, presenter)
    page.context.close()


@pytest.mark.parametrize("scenario", ["conflicting-majorities", "joint-consensus", "removed-server-disruption",
                                      "catch-up-learner"])
@pytest.mark.parametrize("size,presenter", [(SIZES[0], True), (SIZES[1], True), (SIZES[0], False)],
                         ids=["1280x720-presenter", "1920x1080-presenter", "1280x720-normal"])
def test_configuration_scenarios_played_with_the_clicker_fit_the_screen(browser: Browser, server_url, scenario, size, presenter):
    """Every step: one screen, the caption and question whole, no two servers
    overlapping, configuration labels whole; in presenter mode text of 18 px
    (in normal mode the Events tab is open beside the picture)."""
    page = open_page(browser, server_url, size, f"/?scenario={scenario}", presenter=presenter)
    page.wait_for_function(f"() => window.raftviz.model.scenario?.id === {scenario!r}")
    steps = int(page.evaluate("() => window.raftviz.model.scenario.steps"))
    for step in range(1, steps + 1):
        play_to(page, step)
        assert_one_screen(page)
        assert_servers_apart(page)
        if presenter:
            small = [(t, round(px, 1)) for t, px in page.evaluate(TEXT_SIZES) if px < 17.95]
            assert small == [], f"step {step}: text under 18 px: {small[:8]}"
        assert_config_labels_legible(page, presenter)
        if presenter:                                         # (in normal mode a command may end in "…")
            assert page.evaluate(CUT_COMMANDS) == [], f"step {step}: a label or command cut short"
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_joint_consensus_groups_read_for_any_subset(browser: Browser, server_url, presenter):
    """9 servers, C_old = S1–S5, C_new = S2, S4, S6, S8, S9 (not neighbours on the
    ring): each server of C_old has the C_old ring, each of C_new the C_new ring,
    and no other server has either."""
    page = open_page(browser, server_url, SIZES[0], presenter=presenter)
    page.evaluate("() => window.raftviz.send({type: 'reset', nodes: 9, seed: 3, members: [1, 2, 3, 4, 5]})")
    expect(page.locator("[data-node-id]")).to_have_count(9)
    page.evaluate("() => window.raftviz.send({type: 'speed', value: 0.5})")
    expect(page.locator('[data-role="leader"]')).to_have_count(1, timeout=30_000)
    page.evaluate("() => window.raftviz.send({type: 'pause'})")
    assert page.evaluate("() => window.raftviz.send({type: 'change_config', voters: [2, 4, 6, 8, 9]})")["ok"]
    page.evaluate("""async () => {
      for (let k = 0; k < 3000 && !window.raftviz.model.configuration()?.old_voters; k++) await window.raftviz.send({type: 'step'});
    }""")
    page.wait_for_function("() => window.raftviz.model.configuration()?.old_voters", timeout=30_000)
    page.wait_for_timeout(300)
    rings = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#cluster [data-node-id]')].map((g) => {
      const drawn = (sel) => getComputedStyle(g.querySelector(sel)).stroke !== 'none';
      return [g.dataset.nodeId, { old: drawn('.group-ring.old'), new: drawn('.group-ring.new') }];
    }))""")
    for i in range(1, 10):
        assert rings[str(i)] == {"old": i <= 5, "new": i in (2, 4, 6, 8, 9)}, (i, rings[str(i)])
    expect(page.locator("#cluster .band")).to_have_count(0)
    assert_one_screen(page)
    assert_servers_apart(page)
    page.context.close()


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_a_scenarios_server_labels_stay_inside_the_stage(browser: Browser, server_url, presenter):
    page = open_page(browser, server_url, SIZES[0], "/?scenario=prevote-rejoin", presenter=presenter)
    play_to(page, 1)
    label = page.locator('[data-captions-of="5"] .label')
    expect(label).to_have_text("rejoins")          # the scenario file's label for S5
    box, ring = label.bounding_box(), page.locator("#cluster").bounding_box()
    assert box["x"] >= ring["x"] and box["x"] + box["width"] <= ring["x"] + ring["width"], (box, ring)
    assert_servers_apart(page)
    page.context.close()


def test_a_leaders_row_label_is_not_cut_at_1920(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[1], "/?scenario=conflicting-majorities", presenter=True)
    play_to(page, 3)
    cut = page.evaluate("""async () => { """ + FRAMES + """
      const out = [];
      for (const who of document.querySelectorAll('#logs .log-row .who')) {
        const edge = who.getBoundingClientRect().right - parseFloat(getComputedStyle(who).paddingRight);
        for (const line of who.children) {
          const range = document.createRange();
          range.selectNodeContents(line);
          if (range.getBoundingClientRect().right > edge + 0.5) out.push(line.textContent);
        }
      }
      return out; }""")
    assert cut == [], cut
    page.context.close()


def test_the_answer_is_revealed_with_a_key_and_its_explanation_shows(browser: Browser, server_url):
    page = open_page(browser, server_url, SIZES[0], "/?scenario=conflicting-majorities", presenter=True)
    play_to(page, 2)
    expect(page.locator("#narration .question .reveal")).to_have_count(0)
    page.keyboard.press("a")
    expect(page.locator("#narration .question .reveal")).to_contain_text("Answer: Both")
    expect(page.locator("#narration .question .reveal")).to_contain_text("no server is in both")
    expect(page.locator("#narration .question label.right")).to_contain_text("Both")
    play_to(page, 3)                                          # revealed before Next: the explanation stays unfolded
    assert page.evaluate("() => document.querySelector('#narration details.answered').open")
    expect(page.locator("#narration details.answered p")).to_be_visible()
    play_to(page, 6)                                          # not revealed: folded on the projector, until A
    assert not page.evaluate("() => document.querySelector('#narration details.answered').open")
    page.keyboard.press("a")
    expect(page.locator("#narration details.answered p")).to_be_visible()
    assert_one_screen(page)
    page.keyboard.press("?")
    expect(page.locator("#help-keys")).to_contain_text("Reveal the answer")
    page.context.close()
