"""The page in a real browser (Debian's Chromium through Playwright), against
the real server: what a lecturer or a student does, checked on screen."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from serverproc import running_server

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def server_url():
    with running_server() as (url, _):
        yield url


@pytest.fixture
def app(page: Page, server_url):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"unexpected dialog: {d.message}") or d.dismiss())
    page.goto(server_url)
    expect(page.locator("[data-node-id]")).to_have_count(5)
    yield page
    assert errors == [], errors


def set_speed(page: Page, value: float):
    """Move the speed slider (log scale) as a user would, then let go."""
    position = round((__import__("math").log10(value) + 3) / 3 * 1000)
    page.locator("#speed").evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }",
        position)


def leader(page: Page):
    return page.locator('[data-role="leader"][data-up="true"]')


def wait_for_leader(page: Page):
    expect(leader(page)).to_have_count(1, timeout=20_000)
    return int(leader(page).get_attribute("data-node-id"))


def pause(page: Page):
    if page.locator("#mode-readout").inner_text() == "playing":
        page.locator("#play").click()
    expect(page.locator("#mode-readout")).not_to_have_text("playing")


def seq(page: Page) -> int:
    return int(re.search(r"event (\d+)", page.locator("#seq-readout").inner_text()).group(1))


def test_the_page_loads_and_a_leader_appears(app: Page):
    expect(app.locator("#mode-readout")).to_have_text("playing")
    set_speed(app, 0.2)
    wait_for_leader(app)
    expect(app.locator("#event-log li").first).to_contain_text("S")


def test_crashing_the_leader_in_the_ui_leads_to_a_new_leader(app: Page):
    set_speed(app, 0.3)
    old = wait_for_leader(app)
    leader(app).click()
    app.get_by_role("button", name=f"Crash S{old}").click()
    expect(app.locator(f'[data-node-id="{old}"]')).to_have_attribute("data-up", "false")
    expect(app.locator(f'[data-role="leader"][data-up="true"]:not([data-node-id="{old}"])')).to_have_count(1, timeout=20_000)


def test_a_partition_made_in_the_ui_and_healed(app: Page):
    set_speed(app, 0.3)
    wait_for_leader(app)
    app.locator('.tab[data-drawer="network"]').click()
    for i in (1, 2):
        app.locator(f'#partition-choices input[value="{i}"]').check()
    app.locator("#partition").click()
    # 2 x 3 links cross the partition: all drawn as down.
    expect(app.locator(".link.blocked")).to_have_count(6)
    app.locator('.tab[data-drawer="events"]').click()
    expect(app.locator("#event-log li", has_text="The network is partitioned: {S1, S2} | {S3, S4, S5}")).to_have_count(1)
    app.locator('.tab[data-drawer="network"]').click()
    app.locator("#heal").click()
    expect(app.locator(".link.blocked")).to_have_count(0)


def test_a_submitted_command_appears_in_the_logs_and_becomes_committed(app: Page):
    set_speed(app, 0.3)
    wait_for_leader(app)
    app.locator("#client-command").fill("SET x 42")
    app.locator("#client-command").press("Enter")
    cells = app.locator(".cell", has_text="SET x 42")
    expect(cells.first).to_be_visible()
    expect(app.locator('.cell[data-committed="true"]', has_text="SET x 42")).to_have_count(5, timeout=20_000)
    app.locator("#client-command").fill("SET y 7")
    app.locator("#client-command").press("Enter")
    leader(app).click()
    app.wait_for_timeout(700)
    ARTIFACTS.mkdir(exist_ok=True)
    app.screenshot(path=str(ARTIFACTS / "raftviz.png"))      # the README's screenshot comes from here


def test_step_and_step_back_change_what_is_shown(app: Page):
    pause(app)
    before = seq(app)
    app.locator("#step").click()
    expect(app.locator("#seq-readout")).to_contain_text(f"event {before + 1}")
    expect(app.locator("#mode-readout")).to_have_text("stepping")
    expect(app.locator("#event-log li.current")).to_have_attribute("data-seq", str(before + 1))
    app.locator("#step").click()
    app.locator("#step-back").click()
    expect(app.locator("#seq-readout")).to_contain_text(f"event {before + 1} / {before + 2}")
    expect(app.locator("#event-log li.current")).to_have_attribute("data-seq", str(before + 1))


def test_seeking_with_the_timeline(app: Page):
    set_speed(app, 0.5)
    wait_for_leader(app)
    app.wait_for_timeout(1500)
    pause(app)
    total = seq(app)
    box = app.locator("#timeline").bounding_box()
    app.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    expect(app.locator("#seq-readout")).not_to_contain_text(f"event {total} /")
    expect(app.locator("#seq-readout")).to_contain_text(f"/ {total}")
    now = seq(app)
    assert 0 < now < total * 0.5, (now, total)
    expect(app.locator("#timeline")).to_have_attribute("aria-valuenow", str(now))


def test_dropping_a_message(app: Page):
    pause(app)
    for _ in range(40):                     # step until something is in flight
        if app.locator("[data-message-id][visibility=visible]").count():
            break
        app.locator("#step").click()
        app.wait_for_timeout(50)
    message = app.locator("[data-message-id][visibility=visible]").last
    mid = message.get_attribute("data-message-id")
    box = message.locator(".body").bounding_box()
    app.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)   # a real click on it
    expect(app.locator("#inspector h3").first).to_contain_text(f"#{mid}")
    app.get_by_role("button", name="Drop this message").click()
    expect(app.locator(f'[data-message-id="{mid}"]')).to_have_count(0)
    app.locator('.tab[data-drawer="events"]').click()
    expect(app.locator("#event-log li", has_text=f"Message #{mid} is dropped by hand")).to_have_count(1)


def test_a_command_is_shown_as_text_and_runs_nothing(app: Page):
    set_speed(app, 0.3)
    wait_for_leader(app)
    evil = "<img src=x onerror=alert(1)>"
    app.locator("#client-command").fill(evil)
    app.locator("#client-command").press("Enter")
    expect(app.locator(".cell .c", has_text=evil).first).to_be_visible()
    expect(app.locator("#event-log li", has_text=evil).first).to_be_visible()
    assert app.locator('img[src="x"], img[onerror]').count() == 0, "no element was made from the command"
    assert app.locator("img").count() == app.locator("img.room-qr, img.class-qr").count(), \
        "the only images are the room's QR codes"


def test_keyboard_shortcuts(app: Page):
    app.locator("body").click(position={"x": 5, "y": 700})
    mode = app.locator("#mode-readout")
    app.keyboard.press("Space")
    expect(mode).to_have_text("paused")
    app.keyboard.press("Space")
    expect(mode).to_have_text("playing")
    app.keyboard.press("Space")
    before = seq(app)
    app.keyboard.press("ArrowRight")
    expect(app.locator("#seq-readout")).to_contain_text(f"event {before + 1}")
    app.keyboard.press("ArrowLeft")
    expect(app.locator("#seq-readout")).to_contain_text(f"event {before} /")
    app.keyboard.press("?")
    expect(app.locator("#help")).to_be_visible()
    expect(app.locator("#help")).to_contain_text("Step back one event")
    app.keyboard.press("Escape")
    expect(app.locator("#help")).to_be_hidden()
    app.keyboard.press("l")
    expect(app.locator("#legend")).to_be_visible()
    app.keyboard.press("Escape")
    app.keyboard.press("p")
    expect(app.locator("body")).to_have_class(re.compile("presenter"))
    app.keyboard.press("p")


def test_server_errors_are_shown_in_plain_words(app: Page):
    pause(app)
    app.locator('[data-node-id="2"]').click()
    app.get_by_role("button", name="Crash S2").click()
    expect(app.locator('[data-node-id="2"]')).to_have_attribute("data-up", "false")
    app.evaluate("window.raftviz.send({type: 'crash', node: 2})")
    expect(app.locator(".toast.error")).to_contain_text("S2 is already down.")


def test_every_control_has_an_accessible_name(app: Page):
    unnamed = app.evaluate("""() => [...document.querySelectorAll('button, input, select, [role=button], [role=slider]')]
        .filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim() || e.title))
        .map(e => e.outerHTML.slice(0, 80))""")
    assert unnamed == []


def test_a_scenario_link_steps_to_the_end_and_answers_a_question(page: Page, server_url):
    page.goto(server_url + "/?scenario=figure-7")
    narration = page.locator("#narration")
    expect(narration).to_contain_text("Figure 7: a new leader and six followers' logs")
    expect(page.locator("[data-node-id]")).to_have_count(7)
    next_button = page.locator("#scenario-next")
    set_speed(page, 1)
    steps = int(page.evaluate("() => window.raftviz.model.scenario.steps"))
    for step in range(1, steps + 1):
        question = narration.locator(".question")
        if question.count() and "reject" in question.inner_text():
            question.locator("label", has_text="7").locator("input").check()
            narration.get_by_role("button", name="Reveal the answer").click()
            expect(narration.locator(".question .reveal")).to_contain_text("Answer: 7.")
        next_button.click()
        expect(narration.locator(".stepno")).to_have_text(f"Step {step} of {steps}")
        expect(next_button).not_to_have_text("Finish step ▸▸", timeout=20_000)   # the step has played out
        expect(narration.locator(".warning")).to_have_count(0)
    expect(next_button).to_have_text("Done")
    # The final logs of the figure: every server holds the leader's ten entries and its index 11 of term 8.
    for node in range(1, 8):
        row = page.locator(f'[data-log-node="{node}"]')
        expect(row.locator('.cell[data-index="11"]')).to_have_attribute("data-term", "8")
    expect(page.locator("#event-log li", has_text=re.compile(r"S1 commits index(es 1–)?11"))).to_have_count(1)
    page.keyboard.press("b")                                  # Back, from the keyboard
    expect(narration.locator(".stepno")).to_have_text(f"Step {steps - 1} of {steps}")


def test_any_action_can_be_taken_from_a_form_built_from_the_catalogue(app: Page):
    """The page lists every action the server's catalogue describes (raftviz/sim/actions.py)."""
    pause(app)
    catalogue = app.evaluate("() => fetch('/api/catalogue').then((r) => r.json())")
    app.locator('.tab[data-drawer="cluster"]').click()
    form = app.locator(".action-form")
    listed = form.locator("select").first.locator("option").all_inner_texts()
    assert set(listed) == {a["type"] for a in catalogue["actions"] if a["type"] != "options"}
    form.locator("select").first.select_option("crash")
    form.get_by_label("node: the server").select_option("2")
    form.get_by_role("button", name="Do it").click()
    expect(app.locator('[data-node-id="2"]')).to_have_attribute("data-up", "false")
    form.get_by_role("button", name="Do it").click()          # again: refused in plain words, nothing changes
    expect(app.locator(".toast.error")).to_contain_text("S2 is already down.")
    # The kinds of the clients' actions: a key is text, a count a whole number, a number any.
    form.locator("select").first.select_option("read")
    key = form.get_by_label("key: the key to read")
    assert key.get_attribute("type") in (None, "text")
    key.fill("x")
    form.get_by_label("client: the client's id").fill("4")
    form.get_by_role("button", name="Do it").click()
    app.wait_for_function("() => [...window.raftviz.model.clients.ops.values()].some((op) => op.kind === 'read' && op.client === 4)")
    form.locator("select").first.select_option("clients")
    assert form.get_by_label("n: how many clients").get_attribute("step") == "1"
    form.get_by_label("n: how many clients").fill("2")
    form.get_by_label("read_ratio: the share of reads").fill("0.25")
    form.get_by_role("button", name="Do it").click()
    app.wait_for_function("() => window.raftviz.model.clients.running?.read_ratio === 0.25")


# ----- configuration changes, leadership transfer (issue 12) -----------------------------

def step_once(page: Page):
    """One event forward with the Step button, waiting until the page shows it."""
    before = seq(page)
    page.locator("#step").click()
    expect(page.locator("#seq-readout")).to_contain_text(f"event {before + 1} /")


def member(page: Page, node: int) -> str:
    return page.locator(f'[data-node-id="{node}"]').get_attribute("data-member")


def test_a_configuration_change_made_in_the_ui_shows_in_the_ring_and_the_logs(app: Page):
    """S1–S3 vote, S4 and S5 start outside; S6 is added; Change members… (joint) makes
    S1–S5 the voters: the ring and the logs show the learners, then C_old,new, then C_new."""
    app.locator('.tab[data-drawer="cluster"]').click()
    app.locator("#reset-nodes").select_option("5")
    app.locator("#reset-members").select_option("3")
    app.locator("#reset-form").get_by_role("button", name="Reset").click()
    expect(app.locator('[data-node-id="4"]')).to_have_attribute("data-member", "outside")
    expect(app.locator('[data-node-id="5"]')).to_have_attribute("data-member", "outside")
    expect(app.locator('[data-node-id="1"]')).to_have_attribute("data-member", "voter")
    expect(app.locator('[data-captions-of="4"] .caption').first).to_have_text("outside")
    set_speed(app, 0.3)
    wait_for_leader(app)
    pause(app)

    app.keyboard.press("m")                                   # the Members tab, from the keyboard
    expect(app.locator("#drawer-title")).to_have_text("Members: the configuration")
    app.get_by_role("button", name="Add server S6").click()
    expect(app.locator("[data-node-id]")).to_have_count(6)
    expect(app.locator("[data-log-node]")).to_have_count(6)
    expect(app.locator('[data-node-id="6"]')).to_have_attribute("data-member", "outside")
    expect(app.locator("#members-now")).to_contain_text("outside S4–S6")
    # The ring was laid out again: six servers, no two overlapping.
    boxes = app.eval_on_selector_all("#cluster [data-node-id] .shape",
                                     "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)

    app.get_by_role("button", name="Change members…").click()
    dialog = app.locator("#members-dialog")
    expect(dialog).to_be_visible()
    for i in (1, 2, 3):
        expect(dialog.locator(f'#members-choices input[value="{i}"]')).to_be_checked()
    dialog.get_by_label("S4").check()
    dialog.get_by_label("S5").check()
    dialog.get_by_label("Joint consensus").check()
    dialog.get_by_role("button", name="Ask the leader").click()
    expect(dialog).to_be_hidden()
    pause(app)                                               # closing the dialog resumed; step from here

    seen = []
    leader_row = lambda: app.locator(f'[data-log-node="{wait_for_leader(app)}"]')
    for _ in range(300):
        s4, s1 = member(app, 4), member(app, 1)
        phase = ("learners" if s4 == "learner" else "joint" if s4 == "new" and s1 == "both"
                 else "new" if s4 == "voter" else None)
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
            if phase == "learners":
                expect(app.locator('[data-captions-of="4"] .caption').first).to_have_text("learner")
                expect(leader_row().locator('.cell[data-kind="config"]').first).to_have_attribute(
                    "title", re.compile("learners S4, S5"))
                expect(app.locator("#cluster .top-lines")).to_contain_text("learners S4, S5")
            elif phase == "joint":
                # A ring around each server of C_old (S1–S3) and of C_new (S1–S5), none around S6.
                expect(app.locator("#cluster .node.in-old")).to_have_count(3)
                expect(app.locator("#cluster .node.in-new")).to_have_count(5)
                expect(app.locator('[data-node-id="6"]')).not_to_have_class(re.compile(r"\bin-(old|new)\b"))
                expect(app.locator("#cluster .top-lines")).to_contain_text("C_old,new")
                expect(app.locator("#cluster .top-lines")).to_contain_text("old S1–S3")
                expect(app.locator("#cluster .top-lines .swatch")).to_have_count(2)     # the rings' legend
                expect(leader_row().locator('.cell[data-kind="config"] .c', has_text=re.compile("^old,new$"))).to_have_count(1)
            else:
                expect(app.locator("#cluster .node.in-old, #cluster .node.in-new")).to_have_count(0)
                expect(leader_row().locator('.cell[data-kind="config"] .c', has_text=re.compile("^new$"))).to_have_count(1)
                expect(leader_row().locator('.cell[data-kind="config"]', has_text="new").last).to_have_attribute(
                    "title", re.compile("C_new"))
                expect(app.locator('[data-node-id="6"]')).to_have_attribute("data-member", "outside")
                break
        step_once(app)
    assert seen == ["learners", "joint", "new"], seen
    # The new configuration commits everywhere in the end, and the event log explains it.
    set_speed(app, 0.5)
    app.locator("#play").click()
    expect(app.locator('[data-log-node="5"] .cell[data-kind="config"][data-committed="true"]')).to_have_count(3, timeout=20_000)
    app.locator('.tab[data-drawer="events"]').click()
    expect(app.locator("#event-log li.topic-config", has_text="C_old,new").first).to_be_visible()


def test_a_refused_change_of_members_is_explained_in_the_dialog(app: Page):
    set_speed(app, 0.3)
    wait_for_leader(app)
    pause(app)
    app.locator('.tab[data-drawer="members"]').click()
    app.get_by_role("button", name="Change members…").click()
    dialog = app.locator("#members-dialog")
    dialog.get_by_label("S4").uncheck()
    dialog.get_by_label("S5").uncheck()
    dialog.get_by_label("One server at a time").check()
    dialog.get_by_role("button", name="Ask the leader").click()
    expect(dialog.locator("#members-error")).to_contain_text("A single-server change adds or removes one server")
    expect(dialog).to_be_visible()                           # still open, with the choice beside the reason
    for box in dialog.locator("#members-choices input").all():
        box.uncheck()
    dialog.get_by_role("button", name="Ask the leader").click()
    expect(dialog.locator("#members-error")).to_contain_text("Tick at least one server")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_leadership_is_transferred_from_a_servers_inspector(app: Page):
    set_speed(app, 0.3)
    old = wait_for_leader(app)
    pause(app)
    target = next(i for i in range(1, 6) if i != old)
    app.locator(f'[data-node-id="{target}"]').click()
    app.get_by_role("button", name=f"Transfer leadership to S{target}").click()
    expect(app.locator(f'[data-captions-of="{old}"] .caption.sub')).to_have_text(f"handing to S{target}")
    expect(app.locator(".link.transfer")).to_have_count(1)
    for _ in range(60):                                      # the leader brings it up to date, then TimeoutNow
        if app.locator("#cluster .message.tn").count():
            break
        step_once(app)
    expect(app.locator("#cluster .message.tn")).to_have_count(1)
    expect(app.locator("#cluster .message.tn title")).to_contain_text(f"TimeoutNow S{old} → S{target}")
    app.locator("#play").click()
    expect(app.locator(f'[data-node-id="{target}"]')).to_have_attribute("data-role", "leader", timeout=20_000)
    app.locator('.tab[data-drawer="events"]').click()
    expect(app.locator("#event-log li.topic-transfer").first).to_be_visible()


def test_prevote_and_checkquorum_are_options_and_a_prevote_is_drawn_as_one(app: Page):
    app.locator('.tab[data-drawer="options"]').click()
    group = app.get_by_role("group", name="Elections and membership changes (Ongaro's thesis)")
    group.get_by_label("PreVote").check()
    group.get_by_label("CheckQuorum").check()
    app.wait_for_function("() => window.raftviz.model.options.pre_vote && window.raftviz.model.options.check_quorum")
    expect(app.locator(".toast.error")).to_have_count(0)
    expect(group.get_by_label("PreVote")).to_be_checked()     # the pane follows the server, and keeps the focus
    expect(group.get_by_label("CheckQuorum")).to_be_focused()
    set_speed(app, 0.3)
    wait_for_leader(app)
    pause(app)
    leader_id = wait_for_leader(app)
    follower = next(i for i in range(1, 6) if i != leader_id)
    app.evaluate("n => window.raftviz.send({type: 'timeout', node: n})", follower)
    expect(app.locator(f'[data-node-id="{follower}"]')).to_have_class(re.compile("precandidate"))
    expect(app.locator(f'[data-captions-of="{follower}"] .caption').first).to_have_text("pre-candidate")
    expect(app.locator("#cluster .message.pv")).to_have_count(4)
    expect(app.locator("#cluster .message.pv text").first).to_have_text("Pre?")


# ----- clients: the history, linearizability, retries (issue 13) ------------------------------

def open_clients(page: Page):
    if page.locator("#drawer-title").inner_text() != "Clients: their operations, linearizable or not" \
            or page.locator("#drawer").is_hidden():
        page.locator('.tab[data-drawer="clients"]').click()
    expect(page.locator("#drawer-title")).to_have_text("Clients: their operations, linearizable or not")


def write(page: Page, command: str, *, client: int, seq: int | None = None, node: int | None = None):
    form = page.locator("#write-form")
    form.get_by_label("Command to write").fill(command)
    form.get_by_label("Server to send the write to").select_option("" if node is None else str(node))
    page.locator("#write-client").fill(str(client))
    page.locator("#write-seq").fill("" if seq is None else str(seq))
    form.get_by_role("button", name="Send").click()


def answered(page: Page, client: int, count: int = 1):
    """Wait until `count` operations of the client are answered."""
    page.wait_for_function("""([c, n]) => [...window.raftviz.model.clients.ops.values()]
        .filter((op) => op.client === c && op.status === 'ok').length >= n""", arg=[client, count], timeout=20_000)


def test_clients_started_from_the_ui_draw_their_operations_as_bars(app: Page):
    set_speed(app, 0.5)
    wait_for_leader(app)
    app.keyboard.press("h")                                    # the Clients tab, from the keyboard
    open_clients(app)
    form = app.locator("#clients-form")
    form.get_by_label("Clients").fill("3")
    form.get_by_label("Rate: operations a second each").fill("10")
    form.get_by_role("button", name="Start").click()
    expect(app.locator("#clients-running")).to_contain_text("3 simulated clients (c1–c3) run", timeout=10_000)
    chart = app.locator("#history-chart")
    expect(chart.locator('[data-kind="write"][data-status="ok"]').first).to_be_visible(timeout=20_000)
    expect(chart.locator('[data-kind="read"][data-status="ok"]').first).to_be_visible(timeout=20_000)
    # A bar says what it did: a write its command, a read its key and what it saw.
    write_label = chart.locator('[data-kind="write"][data-status="ok"] .label').first.text_content()
    read_label = chart.locator('[data-kind="read"][data-status="ok"] .label').first.text_content()
    assert re.match(r"(SET|APPEND) x \S+", write_label), write_label
    assert re.match(r"read x → \S+", read_label), read_label
    assert chart.locator(".lane-name").all_text_contents()[:1] == ["c1"]
    # Each bar runs from its call to its answer, left to right.
    bars = app.evaluate("""() => [...document.querySelectorAll('#history-chart [data-status="ok"]')].map((g) => {
        const r = g.querySelector('.bar').getBoundingClientRect(), l = g.querySelector('.label').getBoundingClientRect();
        return { width: r.width, label: l.left - r.left, below: r.top - l.bottom };
    })""")
    assert bars and all(b["width"] > 0 and abs(b["label"]) < 1 and b["below"] >= -1 for b in bars), bars
    expect(app.locator("#verdict")).to_contain_text("Linearizable", timeout=15_000)
    app.get_by_role("button", name="Stop").click()
    expect(app.locator("#clients-running")).to_contain_text("No simulated clients run")


def test_a_stale_read_is_flagged_in_the_clients_panel_and_the_banner(app: Page):
    """Section 8: with reads answered locally, a leader cut off in a minority answers a
    read with the value the majority has since overwritten. Made from the UI."""
    app.locator('.tab[data-drawer="options"]').click()
    app.get_by_label("Answer reads locally").check()
    app.wait_for_function("() => window.raftviz.model.options.unsafe_local_reads")
    set_speed(app, 0.5)
    old = wait_for_leader(app)
    open_clients(app)
    write(app, "SET x old", client=1)
    answered(app, 1)
    app.locator('.tab[data-drawer="network"]').click()
    other = 1 if old != 1 else 2
    for i in (old, other):
        app.locator(f'#partition-choices input[value="{i}"]').check()
    app.locator("#partition").click()
    app.wait_for_function("""o => [...window.raftviz.model.nodes.values()].some((n) => n.up && n.role === 'leader'
        && n.id !== o && n.term > window.raftviz.model.nodes.get(o).term)""", arg=old, timeout=20_000)
    new = app.evaluate("""o => [...window.raftviz.model.nodes.values()].find((n) => n.role === 'leader' && n.id !== o).id""", old)
    open_clients(app)
    write(app, "SET x new", client=2, node=new)
    answered(app, 2)
    read = app.locator("#read-form")
    read.get_by_label("Key to read").fill("x")
    read.get_by_label("Server to read from").select_option(str(old))
    app.locator("#read-client").fill("3")
    read.get_by_role("button", name="Read").click()
    # The server checks by itself as operations come: no button needed.
    verdict = app.locator("#verdict")
    expect(verdict).to_contain_text("Not linearizable", timeout=15_000)
    expect(verdict).to_contain_text("saw “old”")
    flagged = app.locator('#history-chart [data-flagged="true"]')
    expect(flagged).to_have_count(3)
    expect(flagged.locator(".label")).to_have_text(["SET x old", "SET x new", "read x → old"])
    expect(app.locator('#history-chart [data-flagged="true"][data-kind="read"]')).to_have_attribute("data-client", "3")
    banner = app.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Linearizability")
    # Check now says the same, and The latest shows the whole history with the three outlined.
    app.get_by_role("button", name="Check now").click()
    expect(verdict).to_contain_text("Not linearizable")
    app.get_by_role("button", name="The latest").click()
    expect(app.locator("#history-chart [data-op-id]")).to_have_count(3)
    expect(flagged).to_have_count(3)
    app.locator('.tab[data-drawer="events"]').click()
    expect(app.locator("#event-log li.topic-read", has_text="UNSAFE").first).to_be_visible()


def test_a_retried_command_is_marked_in_the_logs_and_applied_once(app: Page):
    set_speed(app, 0.5)
    leader_id = wait_for_leader(app)
    open_clients(app)
    write(app, "INCR n", client=5, seq=1)
    write(app, "INCR n", client=5, seq=1)                      # the client retries: same id, same number
    row = app.locator(f'[data-log-node="{leader_id}"]')
    retry = row.locator(".cell.retry")
    expect(retry).to_have_count(1)
    expect(retry.locator(".t")).to_contain_text("↻")
    expect(retry).to_have_attribute("data-client", "5")
    expect(retry).to_have_attribute("title", re.compile("a retry of index \\d+: not applied again"))
    expect(row.locator('.cell.client[data-client="5"]')).to_have_count(2)
    app.wait_for_function("l => window.raftviz.model.nodes.get(l).store.n === '1'", arg=leader_id, timeout=20_000)
    retry.click()                                              # its inspector says it too
    expect(app.locator("#inspector")).to_contain_text("client 5, its request 1")
    expect(app.locator("#inspector")).to_contain_text("not applied again")
    # Without deduplication the retry runs twice: INCR m leaves m = 2.
    app.locator('.tab[data-drawer="options"]').click()
    app.get_by_label("Apply retried commands again").check()
    app.wait_for_function("() => window.raftviz.model.options.unsafe_no_dedup")
    open_clients(app)
    write(app, "INCR m", client=6, seq=1)
    write(app, "INCR m", client=6, seq=1)
    expect(row.locator('.cell.retry.twice[data-client="6"]')).to_have_count(1)
    app.wait_for_function("l => window.raftviz.model.nodes.get(l).store.m === '2'", arg=leader_id, timeout=20_000)
    expect(row.locator('.cell.retry.twice[data-client="6"]')).to_have_attribute("title", re.compile("applied a second time"))
    # The leader's inspector shows its client table: what makes the retry run once.
    app.locator(f'[data-node-id="{leader_id}"]').click()
    expect(app.locator("#inspector")).to_contain_text("client 5: request 1 → 1")
    # An anonymous command has no corner.
    app.locator("#client-command").fill("SET z 1")
    app.locator("#client-command").press("Enter")
    expect(row.locator(".cell:not(.client)", has_text="SET z 1")).to_have_count(1)


# ----- log compaction (section 7, issue 13) -------------------------------------------------

def play_scenario_step(page: Page, step: int):
    page.locator("#scenario-next").click()
    expect(page.locator("#narration .stepno")).to_contain_text(f"Step {step} of")
    page.wait_for_function("s => window.raftviz.model.scenario.step === s && !window.raftviz.model.scenario.playing",
                           arg=step, timeout=30_000)


def test_7_a_snapshot_is_one_block_in_its_row_and_install_snapshot_is_seen(page: Page, server_url):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server_url + "/?scenario=snapshot-install&presenter=1")
    expect(page.locator("#narration")).to_contain_text("Figure 12")
    set_speed(page, 1)
    play_scenario_step(page, 1)
    s1 = page.locator('[data-log-node="1"]')
    block = s1.locator(".snap")
    expect(block).to_have_count(1)
    # Its last included index and term, in the longest form the row has room for.
    expect(block).to_have_text(re.compile(r"^(snapshot ≤5, t3|snap ≤5 t3|≤5 t3)$"))
    expect(block).to_have_attribute("data-snapshot-index", "5")
    # The entries after it keep their absolute indexes; nothing of 1-5 is drawn as an entry.
    expect(s1.locator(".cell")).to_have_count(2)
    assert s1.locator(".cell").evaluate_all("cells => cells.map((c) => c.dataset.index)") == ["6", "7"]
    box, first = block.bounding_box(), s1.locator('.cell[data-index="6"]').bounding_box()
    assert box["x"] + box["width"] <= first["x"] + 1, "the block ends where index 6 begins"
    # Readable on a projector: 18 px or more at 1280x720 in presenter mode.
    size = block.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 18, size

    play_scenario_step(page, 2)                                # ends as S1 sends InstallSnapshot to S5
    pill = page.locator(".message.is[data-message-id]")
    expect(pill).to_have_count(1)
    expect(pill).to_contain_text("Snap ≤5")
    pill.click()
    expect(page.locator("#inspector")).to_contain_text("last_included_index")
    expect(page.locator("#inspector")).to_contain_text("x = 0")

    play_scenario_step(page, 3)
    play_scenario_step(page, 4)
    s5 = page.locator('[data-log-node="5"]')
    expect(s5.locator(".snap")).to_have_text(re.compile(r"^(snapshot ≤5, t3|snap ≤5 t3|≤5 t3)$"))
    assert s5.locator(".cell").evaluate_all("cells => cells.map((c) => c.dataset.index)") == ["6", "7"]

    # The inspector's Snapshot control compacts S1 through what it has applied, index 7.
    page.locator('[data-node-id="1"]').click()
    page.locator('.tab[data-drawer="inspector"]').click()          # presenter mode keeps the side panel shut
    page.get_by_role("button", name="Snapshot", exact=True).click()
    expect(s1.locator(".snap")).to_have_attribute("data-snapshot-index", "7")
    expect(s1.locator(".cell")).to_have_count(0)
    s1.locator(".snap").click()
    expect(page.locator("#inspector")).to_contain_text("S1's snapshot")
    expect(page.locator("#inspector")).to_contain_text("y = 7")
    assert errors == [], errors


def test_7_snapshot_every_is_an_option_and_the_blocks_follow_a_running_cluster(app: Page):
    set_speed(app, 1)
    app.locator('.tab[data-drawer="options"]').click()
    field = app.get_by_label("Snapshot every (entries; 0: off)")
    field.fill("3")
    field.dispatch_event("change")
    app.wait_for_function("() => window.raftviz.model.options.snapshot_every === 3")
    lead = wait_for_leader(app)
    for k in range(7):
        app.evaluate("c => window.raftviz.send({type: 'submit', command: c})", f"SET k {k}")
    row = app.locator(f'[data-log-node="{lead}"]')
    expect(row.locator(".snap")).to_have_count(1, timeout=20_000)
    index = int(row.locator(".snap").get_attribute("data-snapshot-index"))
    assert index >= 3
    # Every row is drawn from its own snapshot on: no cell at or below it.
    below = row.locator(".cell").evaluate_all(
        "(cells, k) => cells.filter((c) => Number(c.dataset.index) <= k).length", index)
    assert below == 0
