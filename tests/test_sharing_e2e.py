"""Several processes behind one address: two real servers (python app.py on
eventlet) sharing a real redis-server (Debian's, started on a free port by
the test), with pages connected to either."""
import re
import signal
import time
from contextlib import ExitStack

import pytest

from serverproc import redis_port, running_redis, running_server, start_redis
from test_restart_e2e import closing_page, node

pytestmark = pytest.mark.server


@pytest.fixture
def redis_url():
    with running_redis() as (url, _):
        yield url


def two_processes(outer: ExitStack):
    """A redis-server and two processes sharing it; (its URL, its process, A's URL, B's URL)."""
    url, redis_proc = outer.enter_context(running_redis())
    a, _ = outer.enter_context(running_server(env=shared(url)))
    b, _ = outer.enter_context(running_server(env=shared(url)))
    return url, redis_proc, a, b


def redis_back(url: str, outer: ExitStack) -> None:
    """Redis starts again on the same address, empty (as deploy.md runs it)."""
    again = start_redis(redis_port(url))
    outer.callback(lambda: (again.terminate(), again.wait(timeout=10)))


def shared(url):
    """A process of several on one Redis, keeping its sessions there (its default store then)."""
    return {"RAFTVIZ_MESSAGE_QUEUE": url, "RAFTVIZ_STORE": "default"}


def test_a_page_on_either_process_is_served_the_same_session(redis_url):
    with running_server(env=shared(redis_url)) as (a, _), running_server(env=shared(redis_url)) as (b, _), \
            ExitStack() as stack:
        owner = stack.enter_context(closing_page(a))
        session = owner.wait_state()["session"]
        opened = owner.act(type="room_open")
        # The lecturer's second page, on the other process, with the session's id and the owner's secret.
        second = stack.enter_context(closing_page(b, session=session, owner=opened["owner"]))
        state = second.wait_state(timeout=10)
        assert state["session"] == session and state["room"]["role"] == "owner"
        # A student on the other process joins by the code and follows.
        viewer = stack.enter_context(closing_page(b, join=opened["room"]["code"]))
        assert viewer.wait_state(timeout=10)["room"]["role"] == "viewer"
        assert "following the class" in viewer.act(type="crash", node=1)["error"]
        since = viewer.mark()
        assert second.act(type="crash", node=4)["ok"], "an action on the other process reaches the session"
        viewer.wait_events(lambda u: any(n["id"] == 4 and not n["up"] for n in u.get("nodes", [])), since=since,
                           timeout=5)
        assert node(owner.state_now(), 4)["up"] is False
        # A question answered on one process is counted on the other.
        asked = owner.act(type="room_ask", prompt="Who will win this election?")
        assert asked["ok"]
        since = owner.mark()
        assert viewer.act(type="answer", choice=2)["ok"]
        owner.wait_events(lambda u: (u.get("answers") or {}).get("2") == 1, since=since, timeout=5)
        # A copy of one's own, and back, across processes.
        tried = viewer.act(type="room_fork")
        assert tried["ok"] and viewer.act(type="crash", node=5)["ok"]
        assert node(owner.state_now(), 5)["up"] is True
        assert viewer.act(type="room_follow")["ok"]


def test_killing_the_process_that_runs_a_lecture_loses_nothing_and_its_class_goes_on(redis_url):
    with running_server(env=shared(redis_url)) as (b, _), ExitStack() as stack:
        with running_server(env=shared(redis_url)) as (a, proc_a):
            owner = stack.enter_context(closing_page(a))
            session = owner.wait_state()["session"]
            assert owner.act(type="speed", value=1.0)["ok"]
            opened = owner.act(type="room_open")
            viewers = [stack.enter_context(closing_page(b, join=opened["room"]["code"])) for _ in range(3)]
            for v in viewers:
                v.wait_state(timeout=10)
            owner.wait_events(lambda u: u.get("records"), timeout=10)
            crashed = owner.act(type="crash", node=2)
            assert crashed["ok"]
            since = [v.mark() for v in viewers]
            proc_a.kill()                                     # SIGKILL, in the middle of playing
            proc_a.wait(timeout=10)
            killed = time.monotonic()
        # The pages on the surviving process go on, without a reload: the same connections get new records.
        for v, mark in zip(viewers, since):
            v.wait_events(lambda u: u.get("records"), since=mark, timeout=20)
        took = time.monotonic() - killed
        assert took < 15, f"the class waited {took:.1f} s"
        state = viewers[0].state_now()
        assert node(state, 2)["up"] is False, "the crash done before the kill is still there"
        assert state["seq"] >= crashed["seq"]
        assert state["room"]["role"] == "viewer" and state["mode"] == "playing"
        # The lecturer's page, whose process died, reconnects to the survivor and is the owner there.
        again = stack.enter_context(closing_page(b, session=session, owner=opened["owner"]))
        back = again.wait_state(timeout=20)
        assert back["room"]["role"] == "owner" and back["room"]["watchers"] >= 3
        assert again.act(type="restart", node=2)["ok"]


def test_when_redis_goes_away_each_process_serves_its_own_sessions_and_says_so(tmp_path):
    log_path = tmp_path / "server.log"
    with ExitStack() as outer:
        url, redis_proc = outer.enter_context(running_redis())
        server, _ = outer.enter_context(running_server(env=shared(url), log_path=log_path))
        page = outer.enter_context(closing_page(server))
        page.wait_state()
        assert page.act(type="speed", value=1.0)["ok"]
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        since = page.mark()
        assert page.act(type="crash", node=1)["ok"], "its own session is still served"
        page.wait_events(lambda u: u.get("records"), since=since, timeout=5)
        deadline = time.monotonic() + 10
        while "degraded" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = log_path.read_text()
        assert re.search(r"Redis is unreachable .*degraded", log), log[-2000:]
        assert "Traceback" not in log, log[-3000:]
        assert page.act(type="restart", node=1)["ok"]
        # Redis comes back on the same address: so does sharing.
        redis_back(url, outer)
        deadline = time.monotonic() + 15
        while "Redis is back" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "Redis is back" in log_path.read_text(), log_path.read_text()[-2000:]
        assert page.act(type="crash", node=3)["ok"]


def test_a_stalled_owner_coming_back_hands_its_pages_to_the_process_that_took_over(redis_url):
    """SIGSTOP the owner past its lease: the other process runs the session; on SIGCONT the
    stalled one finds its lease gone and hands its own pages over, so one copy runs."""
    with running_server(env=shared(redis_url)) as (a, proc_a), \
            running_server(env=shared(redis_url)) as (b, _), ExitStack() as stack:
        owner = stack.enter_context(closing_page(a))
        session = owner.wait_state()["session"]
        opened = owner.act(type="room_open")
        viewer = stack.enter_context(closing_page(b, join=opened["room"]["code"]))
        viewer.wait_state(timeout=10)
        proc_a.send_signal(signal.SIGSTOP)
        try:
            since = viewer.mark()
            # Past the lease B takes the session over, and seats its viewer again (a new state).
            viewer.wait_state(since=since, timeout=20)
        finally:
            proc_a.send_signal(signal.SIGCONT)
        time.sleep(4)                                        # A renews, finds the lease taken, hands over
        since = viewer.mark()
        assert owner.act(type="crash", node=4)["ok"], "the lecturer's page on A still acts"
        viewer.wait_events(lambda u: any(n["id"] == 4 and not n["up"] for n in u.get("nodes", [])), since=since,
                           timeout=5)
        lecturer = stack.enter_context(closing_page(b, session=session, owner=opened["owner"]))
        assert node(lecturer.wait_state(timeout=10), 4)["up"] is False, "one copy: the one the class sees"


def test_while_redis_is_away_a_page_for_another_process_is_told_so_not_given_a_new_session(tmp_path):
    with ExitStack() as outer:
        url, redis_proc, a, b = two_processes(outer)
        owner = outer.enter_context(closing_page(a))
        session = owner.wait_state()["session"]
        assert owner.act(type="crash", node=1)["ok"]
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        time.sleep(1.5)
        import socketio
        errors = []
        client = socketio.Client(reconnection=False)
        client.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(b, auth={"session": session}, transports=["websocket"], wait_timeout=10)
        assert errors and "cannot be reached" in str(errors[-1]), errors
        assert owner.act(type="restart", node=1)["ok"], "A still serves its own session"


def test_after_redis_restarts_empty_the_class_on_the_other_process_goes_on(tmp_path):
    with ExitStack() as outer:
        url, redis_proc, a, b = two_processes(outer)
        owner = outer.enter_context(closing_page(a))
        owner.wait_state()
        opened = owner.act(type="room_open")
        viewer = outer.enter_context(closing_page(b, join=opened["room"]["code"]))
        viewer.wait_state(timeout=10)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        time.sleep(2)
        redis_back(url, outer)
        time.sleep(4)                                        # both processes find Redis back and re-register
        since = viewer.mark()
        assert owner.act(type="crash", node=3)["ok"]
        viewer.wait_events(lambda u: any(n["id"] == 3 and not n["up"] for n in u.get("nodes", [])), since=since,
                           timeout=10)
        late = outer.enter_context(closing_page(b, join=opened["room"]["code"]))
        assert late.wait_state(timeout=10)["room"]["role"] == "viewer", "the room's code is known again"
