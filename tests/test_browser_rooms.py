"""Classroom rooms in the real browser: a lecturer's page and a student's
page (each its own browser context, as two devices) on the real server."""
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from serverproc import running_server

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1280, "height": 720}


@pytest.fixture(scope="module")
def server_url():
    with running_server() as (url, _):
        yield url


class Pages:
    """Pages that must not throw, each in a context of its own (a device of its own)."""

    def __init__(self, browser: Browser):
        self.browser = browser
        self.errors: list[str] = []
        self.contexts = []

    def open(self, url: str) -> Page:
        context = self.browser.new_context(viewport=VIEWPORT)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(url)
        expect(page.locator("[data-node-id]").first).to_be_visible()
        return page


@pytest.fixture
def pages(browser: Browser):
    opened = Pages(browser)
    yield opened
    for context in opened.contexts:
        context.close()
    assert opened.errors == [], opened.errors


def open_room(page: Page) -> str:
    """The lecturer presses J: the room opens and its code and QR code show, large."""
    page.keyboard.press("j")
    dialog = page.locator("#room-dialog")
    expect(dialog).to_be_visible()
    code = page.locator("#room-code").inner_text()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{6}", code)
    expect(page.locator("#room-link")).to_have_text(re.compile(rf"/join/{code}$"))
    assert page.locator("#room-qr").evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code is drawn"
    assert page.locator("#room-code").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 48, \
        "the code reads across a hall"
    page.keyboard.press("Escape")
    return code


def to_question(owner: Page) -> None:
    """Next, with the keyboard, until the scenario asks a question."""
    for _ in range(12):
        if owner.locator("#narration .question").count() and owner.locator("#scenario-next").inner_text() != "Finish step ▸▸":
            return
        owner.keyboard.press("n")
        owner.wait_for_timeout(300)
    raise AssertionError("the scenario asked no question")


def node_up(page: Page, node: int) -> str:
    return page.locator(f'[data-node-id="{node}"]').get_attribute("data-up")


def test_a_class_follows_figure_8_answers_and_tries_on_its_own(server_url, pages: Pages):
    owner = pages.open(server_url + "/?scenario=figure-8")
    expect(owner.locator("#narration")).to_contain_text("Figure 8")
    code = open_room(owner)
    viewer = pages.open(f"{server_url}/join/{code}")
    expect(viewer.locator("#room-status")).to_contain_text(f"Following room {code}")
    expect(owner.locator("#class-tab")).to_contain_text(f"{code} · 1")
    # The viewer sees the lecture and none of the controls that would change it.
    expect(viewer.locator("#narration")).to_contain_text("Figure 8")
    for hidden in ("#play", "#step", "#client-form", "#scenario-next", '.tab[data-drawer="options"]'):
        expect(viewer.locator(hidden)).to_be_hidden()
    viewer.locator('[data-node-id="2"]').click()
    viewer.keyboard.press("k")                          # the crash key: refused, nothing changes
    expect(viewer.locator(".toast")).to_contain_text("following the class")
    assert node_up(viewer, 2) == "true"

    to_question(owner)
    step = owner.locator("#narration .stepno").inner_text()
    expect(viewer.locator("#narration .stepno")).to_have_text(step, timeout=5000)
    expect(viewer.locator("#narration .question")).to_be_visible()
    viewer.locator("#narration .question input[type=radio]").nth(1).check()
    expect(viewer.locator("#narration .class-count")).to_contain_text("Your answer")
    expect(owner.locator("#narration .class-count")).to_have_text("1 of 1 answered", timeout=5000)
    # Before the reveal the count per choice is the lecturer's alone, in the Class panel: on the
    # projector it would sway the class.
    expect(owner.locator("#narration .question .count")).to_have_count(0)
    expect(viewer.locator("#narration .question .count")).to_have_count(0)
    owner.keyboard.press("g")
    expect(owner.locator("#class-answers .choice").nth(1).locator(".count")).to_contain_text("1")
    expect(owner.locator("#class-answers .choice").nth(0).locator(".count")).to_contain_text("0")
    owner.keyboard.press("g")

    viewer.keyboard.press("a")                           # a student cannot reveal it ahead of the class
    expect(viewer.locator("#narration .reveal")).to_have_count(0)
    owner.keyboard.press("a")                            # Reveal: the answer, its explanation, the distribution
    expect(owner.locator("#narration .reveal")).to_contain_text("Answer:")
    expect(viewer.locator("#narration .reveal")).to_contain_text("Answer:", timeout=5000)
    expect(viewer.locator("#narration .question label").nth(1).locator(".count")).to_contain_text("1")
    expect(owner.locator("#narration .question label").nth(1).locator(".count")).to_contain_text("1")

    owner.keyboard.press("n")                            # the class watches the step play
    expect(viewer.locator("#narration .stepno")).not_to_have_text(step, timeout=5000)

    viewer.locator("#try-button").click()                # Try from here: a copy of its own
    expect(viewer.locator("#room-bar")).to_contain_text("Your own copy")
    expect(viewer.locator("#play")).to_be_visible()
    viewer.locator('[data-node-id="3"]').click()
    viewer.keyboard.press("k")
    expect(viewer.locator('[data-node-id="3"]')).to_have_attribute("data-up", "false")
    assert node_up(owner, 3) == "true", "the class's cluster is untouched"
    viewer.locator("#follow-button").click()             # Back to the class
    expect(viewer.locator("#room-status")).to_contain_text(f"Following room {code}")
    expect(viewer.locator('[data-node-id="3"]')).to_have_attribute("data-up", "true")


def test_the_lecturer_hands_control_to_a_student_and_takes_it_back(server_url, pages: Pages):
    owner = pages.open(server_url)
    code = open_room(owner)
    viewer = pages.open(f"{server_url}/join/{code}")
    expect(viewer.locator("#room-status")).to_contain_text(code)
    owner.keyboard.press("g")                            # the Class panel
    owner.get_by_role("button", name="Give control").click()
    expect(viewer.locator("#room-status")).to_contain_text("You have control")
    expect(viewer.locator("#play")).to_be_visible()
    owner.keyboard.press("ArrowRight")
    owner.evaluate("() => window.raftviz.send({type: 'seek', seq: 0})")   # a full state for the whole class
    expect(viewer.locator("#seq-readout")).to_contain_text("event 0 /")
    expect(viewer.locator("#mode-readout")).not_to_have_text("playing")
    expect(viewer.locator("#room-status")).to_contain_text("You have control")
    viewer.locator('[data-node-id="4"]').click()
    viewer.get_by_role("button", name="Crash S4").click()
    expect(owner.locator('[data-node-id="4"]')).to_have_attribute("data-up", "false", timeout=5000)
    owner.get_by_role("button", name="Take control back").click()
    expect(viewer.locator("#room-status")).not_to_contain_text("You have control")
    expect(viewer.locator("#play")).to_be_hidden()


def test_closing_the_room_leaves_the_student_a_copy_and_a_reloaded_lecturer_keeps_the_room(server_url, pages: Pages):
    owner = pages.open(server_url)
    code = open_room(owner)
    viewer = pages.open(f"{server_url}/join/{code}")
    expect(viewer.locator("#room-status")).to_contain_text(code)
    owner.reload()                                       # the lecturer's page comes back as the owner
    expect(owner.locator("#class-tab")).to_contain_text(code)
    owner.keyboard.press("g")
    owner.once("dialog", lambda d: d.accept())
    owner.locator("#class-close").click()
    expect(viewer.locator("#notice")).to_contain_text("closed")
    expect(viewer.locator("#room-status")).to_be_hidden()
    expect(viewer.locator("#play")).to_be_visible()
    assert viewer.evaluate("location.pathname") == "/", "a reload keeps the copy, not the closed room"
    viewer.reload()
    expect(viewer.locator("#play")).to_be_visible()
    expect(viewer.locator(".toast")).to_have_count(0)
    stranger = pages.browser.new_context(viewport=VIEWPORT)
    pages.contexts.append(stranger)
    late = stranger.new_page()
    late.goto(f"{server_url}/join/{code}")
    expect(late.locator(".toast")).to_contain_text("has closed")


def test_revealed_after_the_step_played_the_class_still_sees_its_distribution(server_url, pages: Pages):
    owner = pages.open(server_url + "/?scenario=figure-8")
    code = open_room(owner)
    viewer = pages.open(f"{server_url}/join/{code}")
    expect(viewer.locator("#room-status")).to_contain_text(code)
    to_question(owner)
    expect(viewer.locator("#narration .question")).to_be_visible(timeout=5000)
    viewer.locator("#narration .question input[type=radio]").nth(0).check()
    expect(owner.locator("#narration .class-count")).to_have_text("1 of 1 answered", timeout=5000)
    owner.keyboard.press("n")                            # the step plays before anyone pressed A
    expect(owner.locator("#narration details.answered")).to_be_visible(timeout=10_000)
    owner.keyboard.press("a")
    expect(owner.locator("#narration details.answered .count")).to_have_count(2)
    expect(viewer.locator("#narration details.answered .count").first).to_contain_text("1", timeout=5000)
