"""Who each connection is, and what it is sent, now that sessions can be shared.

Every connection has a Seat: the session it shows and, in a room, whether it
is the owner's page or a viewer's. A viewer follows the room's session (it
never learns its id, the key to changing it) or tries on a private copy of
its own. The owner's pages are sent the room as the owner sees it (the QR
code, the viewers, the count per choice); everything else a room's session
sends goes once to a Socket.IO room that every follower is in, so an update
is encoded once however many watch.

Socket.IO rooms used:
    <session id>             every page showing that session (its `events`)
    room:<code>:follow       the viewers following the room (their full states)
    room:<code>:trying       the viewers trying on their own copies (news of the room)
The owner's pages are few and are sent their own messages.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from ..sim.quote import quote
from .rooms import OWNER, VIEWER, Room, RoomRefused, Rooms, Viewer, normal_code
from .sessions import Session, SessionRefused

log = logging.getLogger(__name__)

# What a viewer may do on the room's session: look, never change.
VIEWER_MAY = {"sync", "records", "export", "visibility", "answer", "room_fork", "room_follow", "room_offer"}
OWNER_ONLY = {"room_close", "room_control", "room_invite", "room_show", "room_ask", "room_reveal"}
ROOM_ACTIONS = OWNER_ONLY | {"room_open", "room_fork", "room_follow", "room_offer", "answer"}
HOST = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]{1,255}/?$")
FOLLOWING = ("You are following the class: only the lecturer changes this cluster. "
             "Press Try from here to try it on a copy of your own.")


@dataclass
class Seat:
    """What one connection is: the session it shows now, and its place in a room."""
    session: str
    room: Room | None = None
    role: str | None = None                 # OWNER, VIEWER, or None: a page of its own session
    viewer: Viewer | None = None

    @property
    def following(self) -> bool:
        return self.role == VIEWER and self.viewer.fork is None

    @property
    def trying(self) -> bool:
        return self.role == VIEWER and self.viewer.fork is not None


def follow_channel(room: Room) -> str:
    return f"room:{room.code}:follow"


def trying_channel(room: Room) -> str:
    return f"room:{room.code}:trying"


class Classroom:
    def __init__(self, server, cfg: dict):
        self.server = server
        self.socketio = server.socketio
        self.sessions = server.sessions
        self.seats: dict[str, Seat] = {}
        self.rooms = Rooms(max_rooms=cfg["MAX_ROOMS"], max_viewers=cfg["MAX_VIEWERS"],
                           joins_per_minute=cfg["JOINS_PER_MINUTE"])
        self.pending_rooms: dict[str, str] = {}     # code -> id of its session, saved by an earlier process
        self.locate_room = None                     # locate_room(code) -> its session's id, across processes
        self.max_copies = cfg["MAX_COPIES"]
        self.viewer_rate = cfg["VIEWER_ACTION_RATE"]
        self.public_url = cfg["PUBLIC_URL"]

    # ----- channels -------------------------------------------------------------------------
    def _enter(self, sid: str, *channels: str) -> None:
        for channel in channels:
            self.socketio.server.enter_room(sid, channel, namespace="/")

    def _leave(self, sid: str, *channels: str) -> None:
        for channel in channels:
            self.socketio.server.leave_room(sid, channel, namespace="/")

    def _emit(self, event: str, data: dict, to, skip=None) -> None:
        self.socketio.emit(event, data, to=to, skip_sid=skip, namespace="/")

    # ----- connecting --------------------------------------------------------------------------
    def connect(self, sid: str, auth: dict, address: str) -> tuple[Session, dict | None]:
        """Seat a new connection; returns its session and a notice for it.
        Raises SessionRefused (or RoomRefused) with the reason to show."""
        if "join" in auth:
            return self._join(sid, auth, address)
        wanted = auth.get("session")
        session = self.sessions.get(wanted)
        notice = None
        if session is not None and session.room is not None:
            room = session.room
            if room.is_owner(auth.get("owner")):
                self.seats[sid] = Seat(session.id, room, OWNER)
                room.owner_sids.add(sid)
                room.dirty = True
                session.attach(sid)
                self._enter(sid, session.id)
                return session, None
            # The session's id alone no longer makes its owner: without the secret, a page follows,
            # within the same limits as any join.
            return self._join(sid, {"join": room.code}, address)
        if session is not None and session.trying is not None:
            room, viewer = session.trying
            if not room.closed:
                return self._seat_viewer(sid, room, viewer)
        if session is None:
            session = self.sessions.create(address)
            if wanted:
                notice = "Your earlier session had expired: this is a new one."
        self.seats[sid] = Seat(session.id)
        session.attach(sid)
        self._enter(sid, session.id)
        return session, notice

    def _join(self, sid: str, auth: dict, address: str):
        code = normal_code(auth.get("join"))
        if code in self.pending_rooms:                  # its session is not back yet: bring it back now
            self.sessions.get(self.pending_rooms[code])
        elif code is not None and code not in self.rooms.by_code and self.locate_room is not None:
            found = self.locate_room(code)              # a room another process ran (sharing.py)
            if found:
                self.sessions.get(found)
        room = self.rooms.find(auth.get("join"), address, token=auth.get("viewer"))
        viewer = room.viewer(auth.get("viewer")) or room.add_viewer(keep=2 * self.rooms.max_viewers)
        return self._seat_viewer(sid, room, viewer)

    def _seat_viewer(self, sid: str, room: Room, viewer: Viewer):
        older = self.seats.get(viewer.sid) if viewer.sid not in (None, sid) else None
        if older is not None:
            # An older page of the same viewer (a second tab, a connection not yet known dead): this one
            # takes its place, and the older one shows nothing any more.
            self._leave_session(viewer.sid, older)
            self._leave(viewer.sid, follow_channel(room), trying_channel(room))
            self.seats[viewer.sid] = Seat("")
        viewer.sid = sid
        room.dirty = True
        copy = self.sessions.get(viewer.fork) if viewer.fork else None
        if copy is not None:
            self.seats[sid] = Seat(copy.id, room, VIEWER, viewer)
            copy.attach(sid)
            self._enter(sid, copy.id, trying_channel(room))
            return copy, None
        viewer.fork = None
        self.seats[sid] = Seat(room.session.id, room, VIEWER, viewer)
        self._enter(sid, room.session.id, follow_channel(room))
        return room.session, None

    def auth_for(self, sid: str) -> dict | None:
        """What this connection would present to be seated as it is now (a process
        taking over its session after the one running it died seats it with this)."""
        seat = self.seats.get(sid)
        if seat is None or not seat.session:
            return None
        if seat.role == OWNER:
            return {"session": seat.room.session.id, "owner": seat.room.secret}
        if seat.role == VIEWER:
            return {"join": seat.room.code, "viewer": seat.viewer.token}
        return {"session": seat.session}

    # ----- rooms brought back from the store (persist.py) ------------------------------------------
    def adopt_room(self, room: Room) -> None:
        self.pending_rooms.pop(room.code, None)
        self.rooms.add(room)

    def adopt_copy(self, session: Session, code, token) -> None:
        """A viewer's copy brought back: tied to its room again, if the room is."""
        if code in self.pending_rooms:
            self.sessions.get(self.pending_rooms[code])
        room = self.rooms.by_code.get(code) if isinstance(code, str) else None
        viewer = room.viewer(token) if room is not None else None
        if viewer is not None:
            session.trying = (room, viewer)
            viewer.fork = session.id

    def disconnect(self, sid: str) -> None:
        seat = self.seats.pop(sid, None)
        if seat is None:
            return
        self._leave_session(sid, seat)
        room = seat.room
        if room is not None:
            room.owner_sids.discard(sid)
            if seat.viewer is not None and seat.viewer.sid == sid:
                seat.viewer.sid = None
                seat.viewer.left_at = time.monotonic()
            room.dirty = True

    def _leave_session(self, sid: str, seat: Seat) -> None:
        session = self.sessions.get(seat.session)
        if session is not None:
            with session.lock:
                session.detach(sid)
        self._leave(sid, seat.session)

    # ----- who may do what -------------------------------------------------------------------
    def refusal(self, seat: Seat, kind) -> str | None:
        """Why this connection may not do `kind` here; None if it may."""
        room = seat.room
        if kind in OWNER_ONLY:
            if seat.role != OWNER:
                return ("Only the room's owner can do that." if room else
                        "This page is not sharing its session: open a room first (Share with class).")
            return None
        if kind in ("room_fork", "room_follow", "room_offer", "answer") and seat.role != VIEWER:
            return ("That is for the viewers of a room." if seat.role == OWNER else
                    "This page is not following a class: join one with its code first.")
        if kind == "room_open" and seat.role is not None:
            return ("This session is shared already." if seat.role == OWNER else
                    "Viewers cannot open a room on the class's session: press Try from here first, "
                    "or open raftviz in a page of your own.")
        if seat.role == OWNER and room is not None and seat.session != room.session.id \
                and kind not in ("sync", "records", "export", "visibility") and kind not in ROOM_ACTIONS:
            return "The projector is showing a viewer's copy: it is theirs. Press Back to the class to act again."
        if seat.following and kind not in VIEWER_MAY and room.control != seat.viewer.token:
            return FOLLOWING
        return None

    def allowance(self, seat: Seat):
        """Whose rate and CPU share an action spends: a following viewer's own
        (a class must not use up its lecturer's), else the session's."""
        if seat.following and seat.room.control != seat.viewer.token:
            return seat.viewer.allowance, self.viewer_rate
        return None, None

    # ----- what each page is sent ----------------------------------------------------------------
    def tailor(self, state: dict, seat: Seat) -> dict:
        room = seat.room
        if room is None or room.closed:
            return {**state, "room": None}
        if seat.role == OWNER:
            # The room's session id, even while the projector shows a viewer's copy: that copy is theirs.
            return {**state, "session": room.session.id, "room": room.for_owner(), "answers": room.answers()}
        if seat.trying:
            return {**state, "room": None, "trying": room.for_viewer(seat.viewer)}
        if seat.role == VIEWER:
            return {**state, "session": None, "room": room.for_viewer(seat.viewer)}
        return {**state, "room": None}

    def send_state(self, session: Session, sid: str | None = None, notice: str | None = None) -> None:
        """The full state to one page, or to every page showing the session
        (each as it may see it; followers all alike, encoded once)."""
        state = session.state()
        if notice:
            state["notice"] = notice
        if sid is not None:
            seat = self.seats.get(sid)
            self._emit("state", self.tailor(state, seat) if seat else {**state, "room": None}, to=sid)
            return
        room = session.room or session.shown_in
        owners = [s for s in room.owner_sids if self.seats.get(s) and self.seats[s].session == session.id] \
            if room is not None else []
        if session.room is not None:
            self._emit("state", {**state, "session": None, "room": {**room.public(), "role": VIEWER}},
                       to=follow_channel(room))
        else:
            extra = {"room": None}
            if session.trying is not None and not session.trying[0].closed:
                extra["trying"] = session.trying[0].for_viewer(session.trying[1])
            self._emit("state", {**state, **extra}, to=session.id, skip=owners)
        for s in owners:
            self._emit("state", self.tailor(state, self.seats[s]), to=s)

    def publish(self, session: Session) -> None:
        """After the session's update: send what changed in its room, at most once a tick."""
        room = session.room
        if room is None:
            return
        room.follow_scenario(session.scenario_view(full=True))
        if room.dirty:
            self.publish_room(room)

    def publish_room(self, room: Room) -> None:
        room.dirty = False
        public = {**room.public(), "role": VIEWER}
        self._emit("events", {"clock": room.session.clock(), "room": public}, to=follow_channel(room))
        self._emit("events", {"trying": public}, to=trying_channel(room))
        for sid in list(room.owner_sids):
            seat = self.seats.get(sid)
            shown = self.sessions.get(seat.session) if seat else None
            if shown is not None:
                self._emit("events", {"clock": shown.clock(), "room": room.for_owner(), "answers": room.answers()},
                           to=sid)

    def _tell_viewer(self, room: Room, viewer: Viewer) -> None:
        """A viewer's own part of the room (its control, its answer) changed."""
        if viewer.sid is not None:
            key = "trying" if viewer.fork else "room"
            self._emit("events", {key: room.for_viewer(viewer)}, to=viewer.sid)

    # ----- room actions ------------------------------------------------------------------------------
    def act(self, sid: str, seat: Seat, data: dict, base_url: str) -> dict:
        kind = data["type"]
        fields = {"room_open": (), "room_close": (), "room_fork": (), "room_follow": (), "room_reveal": (),
                  "room_offer": ("offer",), "room_invite": ("open",), "room_control": ("viewer",),
                  "room_show": ("viewer",), "room_ask": ("prompt", "choices", "close"), "answer": ("choice",)}[kind]
        extra = sorted(set(data) - set(fields) - {"type"})
        if extra:
            return {"ok": False, "error": f"The {kind} action does not take {', '.join(map(quote, extra))}."}
        try:
            return getattr(self, "_" + kind)(sid, seat, data, base_url)
        except (RoomRefused, SessionRefused) as e:
            return {"ok": False, "error": str(e)}

    def _room_open(self, sid, seat, data, base_url):
        session = self.sessions.get(seat.session)
        url = self.public_url or base_url
        if not HOST.match(url or ""):
            raise RoomRefused("The server cannot tell its own address for the room's link: start it with "
                              "RAFTVIZ_PUBLIC_URL set (e.g. http://192.168.1.20:5000).")
        room = self.rooms.open(session, url)
        # Every page already showing the session had its id, the key to it: they are the owner's.
        for other in list(session.connections):
            other_seat = self.seats.get(other)
            if other_seat is not None and other_seat.role is None:
                other_seat.room, other_seat.role = room, OWNER
                room.owner_sids.add(other)
        session.acted = True
        self.send_state(session)
        room.dirty = False
        return {"ok": True, "room": {"code": room.code, "link": room.link, "qr": room.qr}, "owner": room.secret}

    def _room_close(self, sid, seat, data, base_url):
        self.close(seat.room, "The lecturer closed the room.")
        return {"ok": True}

    def close(self, room: Room, why: str) -> None:
        """Close a room: viewers are told, and each keeps a private copy."""
        if room.closed:
            return
        self.rooms.close(room)
        for viewer in list(room.viewers.values()):
            seat = self.seats.get(viewer.sid) if viewer.sid else None
            if seat is None or seat.viewer is not viewer:
                continue
            if viewer.fork:
                copy = self.sessions.get(viewer.fork)
                self._leave(viewer.sid, trying_channel(room))
                seat.room = seat.role = seat.viewer = None
                if copy is not None:
                    copy.trying = copy.shown_in = None
                    self.send_state(copy, viewer.sid, notice=f"{why} This copy is yours to keep.")
                continue
            self._leave(viewer.sid, room.session.id, follow_channel(room))
            try:
                copy = self.sessions.add_copy(room.session, self.max_copies)
            except SessionRefused:
                self._emit("state", {**room.session.state(), "session": None, "room": None,
                                     "notice": f"{why} The server has no room for a copy of your own now."},
                           to=viewer.sid)
                self.seats[viewer.sid] = Seat("", None)
                continue
            seat.session, seat.room, seat.role, seat.viewer = copy.id, None, None, None
            copy.attach(viewer.sid)
            self._enter(viewer.sid, copy.id)
            self.send_state(copy, viewer.sid, notice=f"{why} This is a copy of the class's cluster, yours to keep.")
            self.socketio.sleep(0)
        for sid in list(room.owner_sids):
            seat = self.seats.get(sid)
            if seat is None:
                continue
            if seat.session != room.session.id:
                self._stop_showing(room, sid, seat)
            seat.room = seat.role = None
        room.owner_sids.clear()
        if self.sessions.get(room.session.id) is not None:
            self.send_state(room.session, notice=why)

    def sweep(self) -> None:
        """Close the rooms whose owner's session has expired."""
        for room in self.rooms.all():
            if self.sessions.get(room.session.id) is None:
                self.close(room, "The lecturer's session has ended.")
        self.rooms.forget_addresses(time.monotonic())

    def _room_fork(self, sid, seat, data, base_url):
        room, viewer = seat.room, seat.viewer
        if viewer.fork:
            raise RoomRefused("You are trying on your own copy already: Back to the class returns to it.")
        with room.session.lock:
            copy = self.sessions.add_copy(room.session, self.max_copies)
        copy.trying = (room, viewer)
        viewer.fork = copy.id
        self._leave(sid, room.session.id, follow_channel(room))
        seat.session = copy.id
        copy.attach(sid)
        self._enter(sid, copy.id, trying_channel(room))
        room.dirty = True
        self.send_state(copy, sid)
        return {"ok": True, "session": copy.id}

    def _room_follow(self, sid, seat, data, base_url):
        room, viewer = seat.room, seat.viewer
        if not viewer.fork:
            raise RoomRefused("You are following the class already.")
        self._drop_copy(room, viewer)
        self._leave(sid, seat.session, trying_channel(room))
        seat.session = room.session.id
        self._enter(sid, room.session.id, follow_channel(room))
        room.dirty = True
        self.send_state(room.session, sid)
        return {"ok": True}

    def _drop_copy(self, room: Room, viewer: Viewer) -> None:
        """A viewer back with the class: its copy goes (and leaves the projector)."""
        if room.showing == viewer.token:
            room.showing = None
            for sid in list(room.owner_sids):
                seat = self.seats.get(sid)
                if seat is not None and seat.session == viewer.fork:
                    self._stop_showing(room, sid, seat, notice=f"Viewer {viewer.number} went back to the class.")
        copy = self.sessions.get(viewer.fork)
        if copy is not None:
            for other in list(copy.connections):
                copy.detach(other)
            self.sessions.discard(copy.id)
        viewer.fork, viewer.offered = None, False

    def _room_offer(self, sid, seat, data, base_url):
        offer = data.get("offer", True)
        if not isinstance(offer, bool):
            raise RoomRefused("offer is true (show my copy on the projector if the lecturer wants) or false.")
        if offer and not seat.trying:
            raise RoomRefused("Press Try from here first: what you offer is your own copy.")
        seat.viewer.offered = offer
        seat.room.dirty = True
        if not offer and seat.room.showing == seat.viewer.token:
            seat.room.showing = None
            for owner in list(seat.room.owner_sids):
                owner_seat = self.seats.get(owner)
                if owner_seat is not None and owner_seat.session == seat.session:
                    self._stop_showing(seat.room, owner, owner_seat,
                                       notice=f"Viewer {seat.viewer.number} took back their offer.")
        return {"ok": True, "offered": offer}

    def _room_show(self, sid, seat, data, base_url):
        room = seat.room
        number = data.get("viewer")
        if number is None:
            if seat.session != room.session.id:
                self._stop_showing(room, sid, seat)
            room.showing = None
            room.dirty = True
            return {"ok": True, "showing": None}
        viewer = room.by_number(number)
        if viewer is None or not viewer.fork or not viewer.offered:
            raise RoomRefused(f"Viewer {quote(number)} has not offered a copy to show: a viewer who tries "
                              f"offers theirs with Offer to the class.")
        copy = self.sessions.get(viewer.fork)
        if copy is None:
            raise RoomRefused(f"Viewer {number}'s copy has ended.")
        if seat.session != room.session.id:
            self._stop_showing(room, sid, seat, send=False)
        self._leave_session(sid, seat)
        seat.session = copy.id
        copy.attach(sid)
        copy.shown_in = room
        self._enter(sid, copy.id)
        room.showing = viewer.token
        room.dirty = True
        self.send_state(copy, sid)
        return {"ok": True, "showing": number}

    def _stop_showing(self, room: Room, sid: str, seat: Seat, notice: str | None = None, send: bool = True) -> None:
        """An owner's page back from a viewer's copy to the room's session."""
        shown = self.sessions.get(seat.session)
        if shown is not None:
            shown.shown_in = None
        self._leave_session(sid, seat)
        seat.session = room.session.id
        room.session.attach(sid)
        self._enter(sid, room.session.id)
        if send:
            self.send_state(room.session, sid, notice=notice)

    def _room_control(self, sid, seat, data, base_url):
        room = seat.room
        number = data.get("viewer")
        before = room.viewers.get(room.control)
        if number is None:
            room.control = None
        else:
            viewer = room.by_number(number)
            if viewer is None or viewer.sid is None:
                raise RoomRefused(f"There is no viewer {quote(number)} connected to this room.")
            room.control = viewer.token
        room.dirty = True
        for viewer in {id(v): v for v in (before, room.viewers.get(room.control)) if v is not None}.values():
            self._tell_viewer(room, viewer)
        return {"ok": True, "control": number}

    def _room_invite(self, sid, seat, data, base_url):
        invite = data.get("open", True)
        if not isinstance(invite, bool):
            raise RoomRefused("open is true (invite everyone to try from here) or false.")
        seat.room.invited = invite
        seat.room.dirty = True
        return {"ok": True, "invited": invite}

    def _room_ask(self, sid, seat, data, base_url):
        room = seat.room
        close = data.get("close", False)
        if not isinstance(close, bool):
            raise RoomRefused("close is true (close your question) or left out.")
        if close:
            if room.question is None or not room.question.adhoc:
                raise RoomRefused("There is no question of yours open to close.")
            room.question = None
            room.dirty = True
            return {"ok": True}
        choices = data.get("choices")
        if choices is None:                    # the servers, as in "Who will win this election?"
            choices = [f"S{i}" for i in sorted(room.session.cluster.nodes)]
        prompt = data.get("prompt", "Who will win this election?")
        q = room.ask(prompt, choices)
        return {"ok": True, "question": q.public()}

    def _room_reveal(self, sid, seat, data, base_url):
        q = seat.room.question
        if q is None:
            raise RoomRefused("There is no question to reveal.")
        q.revealed, q.open = True, False
        seat.room.dirty = True
        return {"ok": True, "answers": q.counts()}

    def _answer(self, sid, seat, data, base_url):
        seat.room.answer(seat.viewer.token, data.get("choice"))
        return {"ok": True, "choice": data["choice"]}

