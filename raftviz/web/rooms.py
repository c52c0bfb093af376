"""Classroom rooms: a lecturer's session shared with a class.

A Room belongs to one session, its owner's. Viewers join it by its code and
watch that session live; each may fork it ("Try from here") into a private
session and come back. The owner holds a secret that a viewer never sees;
only the owner, or a viewer the owner handed control to, may change the
cluster. Viewers answer the question on screen; only the owner sees the
counts.

This module keeps rooms, codes, viewers and answers; which connection is
what, and what is sent to it, is classroom.py's.

Codes are 6 characters from an alphabet without look-alikes (no 0/O,
1/I/L): 31^6, about 887 million codes. Wrong codes are limited per address
(WRONG_CODES_PER_ADDRESS a minute; a viewer coming back with its token is
never held up), so with MAX_ROOMS rooms open a guesser finds one with a
probability of at most MAX_ROOMS / 31^6 per try: 0.07 % over a day of
guessing from one address. (A limit on all addresses together would let a
few addresses lock every class out.) A code is never given out twice in a
process's life: a closed room's code says the room has closed.
"""
from __future__ import annotations

import hmac
import io
import secrets
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field

import segno

from .sessions import Allowance

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"   # no 0/O, 1/I/L: read off a projector without doubt
CODE_LENGTH = 6
WRONG_CODES_PER_ADDRESS = 20                    # unknown codes an address may try per minute
MAX_QUESTION = 200                              # characters of an ad-hoc question
MAX_CHOICE = 40                                 # characters of one of its choices
MAX_CHOICES = 9
OWNER, VIEWER = "owner", "viewer"


class RoomRefused(ValueError):
    """A join or a room action that cannot be done; the message says why."""


def normal_code(text) -> str | None:
    """A code as typed or read: case and spaces or dashes do not matter."""
    if not isinstance(text, str) or len(text) > 20:
        return None
    code = "".join(ch for ch in text.upper() if ch not in " -")
    return code if len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code) else None


def qr_svg(url: str) -> str:
    """The QR code of `url` as a standalone SVG that scales to any size (a
    viewBox, no width; its namespace, so the page can show it as an image)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", xmldecl=False, nl=False, scale=1, border=4, omitsize=True,
                                    dark="#000", light="#fff")
    return out.getvalue().decode()


def _unprintable(text: str) -> bool:
    """Control characters, and the ones that reverse how the rest of a line reads."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


class Window:
    """How many times something happened in the last `span` seconds."""

    def __init__(self, span: float = 60.0):
        self.span = span
        self.times: deque[float] = deque()

    def count(self, now: float) -> int:
        while self.times and now - self.times[0] >= self.span:
            self.times.popleft()
        return len(self.times)

    def add(self, now: float) -> None:
        self.times.append(now)


@dataclass
class Viewer:
    """One student's place in a room, kept across reconnections by its token
    (the page keeps it): its number, its answer, its private copy."""
    token: str
    number: int
    sid: str | None = None                  # its connection now; None while disconnected
    fork: str | None = None                 # the session id of its private copy, while it tries
    offered: bool = False                   # it agrees to have its copy shown on the projector
    left_at: float = 0.0                    # when its page went (monotonic), to forget the longest gone first
    allowance: Allowance = field(default_factory=Allowance)   # its own rate and CPU share, not the room's


@dataclass
class Question:
    """The question viewers answer now: a scenario step's, or the owner's own."""
    key: str                                # what identifies it (scenario id and step, or "ask:<n>")
    prompt: str
    choices: list[str]
    adhoc: bool = False
    open: bool = True                       # answers are taken
    answer: int | None = None               # a scenario question's answer, and why: shown to viewers once
    explanation: str | None = None          # revealed or answered by its step, to the owner always
    answers: dict[str, int] = field(default_factory=dict)    # viewer token -> choice (1-based)
    revealed: bool = False                  # an ad-hoc question's distribution is shown to all

    def counts(self) -> dict[str, int]:
        out = {str(k): 0 for k in range(1, len(self.choices) + 1)}
        for choice in self.answers.values():
            out[str(choice)] += 1
        return out

    def public(self, owner: bool = False) -> dict:
        out = {"key": self.key, "prompt": self.prompt, "choices": list(self.choices), "adhoc": self.adhoc,
               "open": self.open, "answered": len(self.answers)}
        if self.revealed:
            out["counts"] = self.counts()
        if self.answer is not None and (owner or self.revealed or not self.open):
            out["answer"], out["explanation"] = self.answer, self.explanation
        return out


class Room:
    def __init__(self, code: str, session, link: str, qr: str):
        self.code = code
        self.session = session
        self.link = link                    # /join/<code>
        self.qr = qr                        # the QR code of the whole address, as SVG
        self.url = link                     # the whole address (the server's, or PUBLIC_URL, and the link)
        self.secret = secrets.token_urlsafe(24)
        self.owner_sids: set[str] = set()   # the owner's connections (a reload makes a new one)
        self.viewers: dict[str, Viewer] = {}        # token -> viewer
        self.numbers = 0
        self.control: str | None = None     # the token of the viewer who holds control
        self.invited = False                # the owner invites everyone to try from here
        self.showing: str | None = None     # the token of the viewer whose copy the projector shows
        self.question: Question | None = None
        self.asked = 0                      # ad-hoc questions asked so far
        self.scenario_step = 0              # the scenario step last seen (going back asks its question again)
        self.closed = False
        self.revision = 0                   # counts its changes (a saved room is saved again when it moves)
        self.dirty = True                   # what viewers or the owner are shown of the room changed

    @property
    def dirty(self) -> bool:
        return self._dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        if value:
            self.revision += 1
        self._dirty = value

    # ----- who is who ------------------------------------------------------------------
    def is_owner(self, secret) -> bool:
        return isinstance(secret, str) and hmac.compare_digest(secret, self.secret)

    def viewer(self, token) -> Viewer | None:
        return self.viewers.get(token) if isinstance(token, str) else None

    def add_viewer(self, keep: int) -> Viewer:
        """A new viewer. Past `keep` viewers known, those gone longest (not
        trying on a copy, not holding control) are forgotten: joining and
        leaving again and again must not grow the room without end."""
        if len(self.viewers) >= keep:
            gone = sorted((v for v in self.viewers.values()
                           if v.sid is None and v.fork is None and v.token != self.control), key=lambda v: v.left_at)
            for v in gone[:len(self.viewers) - keep + 1]:
                del self.viewers[v.token]
        self.numbers += 1
        viewer = Viewer(secrets.token_urlsafe(16), self.numbers)
        self.viewers[viewer.token] = viewer
        self.dirty = True
        return viewer

    def watchers(self) -> int:
        """Viewers connected now, following or trying on their own."""
        return sum(1 for v in self.viewers.values() if v.sid is not None)

    def by_number(self, number) -> Viewer | None:
        if isinstance(number, bool) or not isinstance(number, int):
            return None
        return next((v for v in self.viewers.values() if v.number == number), None)

    # ----- questions ---------------------------------------------------------------------
    def follow_scenario(self, view: dict | None) -> None:
        """The scenario's question is the one to answer while it is open (shown,
        its step not yet run), and its counts stay once the step that answers
        it has run. An ad-hoc question stays until the owner closes it."""
        if self.question is not None and self.question.adhoc:
            return
        q = key = None
        is_open = False
        back = view is not None and view["step"] < self.scenario_step   # Back or Restart: ask again
        self.scenario_step = view["step"] if view is not None else 0
        if view is not None:
            if view.get("question"):
                q, key, is_open = view["question"], f"{view['id']}:{view['step']}", not view.get("playing")
            elif view.get("answered"):
                q, key = view["answered"], f"{view['id']}:{view['step'] - 1}"
        if back or key != (self.question.key if self.question else None):
            self.question = Question(key, q["prompt"], list(q["choices"]), answer=q.get("answer"),
                                     explanation=q.get("explanation")) if q else None
            self.dirty = True
        if self.question is not None and not self.question.revealed and self.question.open != is_open:
            self.question.open = is_open
            self.dirty = True

    def answer(self, token: str, choice) -> None:
        q = self.question
        if q is None:
            raise RoomRefused("There is no question to answer right now.")
        if not q.open:
            raise RoomRefused("This question is closed: its answer has been given. Wait for the next one.")
        if isinstance(choice, bool) or not isinstance(choice, int) or not 1 <= choice <= len(q.choices):
            raise RoomRefused(f"Pick one of the {len(q.choices)} choices: a number from 1 to {len(q.choices)}.")
        q.answers[token] = choice
        self.dirty = True

    def ask(self, prompt, choices) -> Question:
        if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_QUESTION:
            raise RoomRefused(f"A question is a sentence of at most {MAX_QUESTION} characters.")
        if not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES or not all(
                isinstance(c, str) and c.strip() and len(c) <= MAX_CHOICE for c in choices):
            raise RoomRefused(f"A question has 2 to {MAX_CHOICES} choices, each a few words "
                              f"(at most {MAX_CHOICE} characters).")
        if any(_unprintable(text) for text in [prompt, *choices]):
            raise RoomRefused("A question and its choices are plain text: no control or direction-changing "
                              "characters.")
        if len({c.strip() for c in choices}) != len(choices):
            raise RoomRefused("Each choice may appear once.")
        self.asked += 1
        self.question = Question(f"ask:{self.asked}", prompt.strip(), [c.strip() for c in choices], adhoc=True)
        self.dirty = True
        return self.question

    # ----- what each side is shown ------------------------------------------------------------
    def public(self) -> dict:
        """What every viewer is shown of the room (never anyone's answer, fork or secret)."""
        return {"code": self.code, "link": self.link, "watchers": self.watchers(), "invited": self.invited,
                "question": self.question.public() if self.question else None,
                "showing": self.viewers[self.showing].number if self.showing in self.viewers else None}

    def for_viewer(self, viewer: Viewer | None) -> dict:
        out = {**self.public(), "role": VIEWER}
        if viewer is not None:
            out["token"] = viewer.token                 # the page keeps it to come back as the same viewer
            out["number"] = viewer.number
            out["control"] = self.control == viewer.token
            q = self.question
            out["my_answer"] = q.answers.get(viewer.token) if q else None
        return out

    def for_owner(self) -> dict:
        control = self.viewers.get(self.control)
        return {**self.public(), "role": OWNER, "qr": self.qr, "url": self.url,
                "question": self.question.public(owner=True) if self.question else None,
                "control": control.number if control else None,
                "viewers": [{"number": v.number, "connected": v.sid is not None, "trying": v.fork is not None,
                             "offered": v.offered} for v in sorted(self.viewers.values(), key=lambda v: v.number)
                            if v.sid is not None or v.fork is not None]}

    def answers(self) -> dict | None:
        """The owner's count per choice for the open question."""
        return self.question.counts() if self.question else None


class Rooms:
    """Every room of this server, its codes, and the limits on joining."""

    def __init__(self, *, max_rooms: int, max_viewers: int, joins_per_minute: int):
        self.max_rooms = max_rooms
        self.max_viewers = max_viewers
        self.joins_per_minute = joins_per_minute     # per address: a lecture hall behind one NAT needs many
        self.by_code: dict[str, Room] = {}
        self.listener = None                         # told of rooms opened and closed (sharing.py)
        self.retired: set[str] = set()               # codes of closed rooms: never given out again
        self._joins: dict[str, Window] = {}
        self._wrong: dict[str, Window] = {}
        self.wrong_per_minute = WRONG_CODES_PER_ADDRESS

    def __len__(self) -> int:
        return len(self.by_code)

    def all(self) -> list[Room]:
        return list(self.by_code.values())

    def open(self, session, base_url: str) -> Room:
        if getattr(session, "room", None) is not None:
            return session.room
        if len(self.by_code) >= self.max_rooms:
            raise RoomRefused(f"The server already has {self.max_rooms} rooms open, its limit. "
                              f"Please try again later.")
        while True:
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            if code not in self.by_code and code not in self.retired:
                break
        link = f"/join/{code}"
        url = base_url.rstrip("/") + link
        room = Room(code, session, link, qr_svg(url))
        room.url = url
        self.add(room)
        session.room = room
        return room

    def add(self, room: Room) -> None:
        """A room opened here, or brought back from the store."""
        self.by_code[room.code] = room
        if self.listener is not None:
            self.listener.room_opened(room)

    def close(self, room: Room) -> None:
        room.closed = True
        self.by_code.pop(room.code, None)
        self.retired.add(room.code)
        if self.listener is not None:
            self.listener.room_closed(room)
        if room.session.room is room:
            room.session.room = None

    def find(self, text, address: str, now: float | None = None, token=None) -> Room:
        """The room a join asks for, within the limits on joining; else RoomRefused.
        A viewer coming back with its token (a dropped connection, a reload) is
        never held up by the address's wrong codes: its token proves it was let in."""
        now = time.monotonic() if now is None else now
        joins = self._joins.setdefault(address, Window())
        if joins.count(now) >= self.joins_per_minute:
            raise RoomRefused(f"Too many joins from your address: at most {self.joins_per_minute} a minute. "
                              f"Wait a minute, then reload the page.")
        code = normal_code(text)
        room = self.by_code.get(code) if code else None
        wrong = self._wrong.setdefault(address, Window())
        if wrong.count(now) >= self.wrong_per_minute and (room is None or room.viewer(token) is None):
            raise RoomRefused("Too many wrong room codes have been tried from your address: wait a minute, "
                              "then try again.")
        joins.add(now)
        if not isinstance(text, str):
            wrong.add(now)
            raise RoomRefused("A room code is 6 letters and digits, as on the screen.")
        if room is None:
            wrong.add(now)
            if code in self.retired:
                raise RoomRefused(f"The room {code} has closed. Ask for the new code if there is one.")
            shown = code or (text[:20] if isinstance(text, str) else "")
            raise RoomRefused(f"There is no room with the code {shown!r}: check the code on the screen "
                              f"(6 letters and digits).")
        if room.watchers() >= self.max_viewers:
            raise RoomRefused(f"This room is full: it has {self.max_viewers} viewers, its limit.")
        return room

    def forget_addresses(self, now: float) -> None:
        for table in (self._joins, self._wrong):
            for address in [a for a, w in table.items() if not w.count(now)]:
                del table[address]
