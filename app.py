"""raftviz server: python app.py [--host H] [--port P]  (env HOST / PORT).

Runs on eventlet; RAFTVIZ_ASYNC_MODE=threading runs it on plain threads instead.
Environment: RAFTVIZ_MAX_SESSIONS, RAFTVIZ_NEW_SESSIONS_PER_MINUTE (per client
address), RAFTVIZ_FRAME_ANCESTORS (who may frame the page, e.g. "'self'
https://course.example.edu"); for classroom rooms RAFTVIZ_PUBLIC_URL (the
address students' phones reach, e.g. http://192.168.1.20:5000, put in the
rooms' links and QR codes), RAFTVIZ_MAX_ROOMS, RAFTVIZ_MAX_VIEWERS (per room),
RAFTVIZ_MAX_COPIES, RAFTVIZ_JOINS_PER_MINUTE (per address),
RAFTVIZ_VIEWER_ACTION_RATE; RAFTVIZ_STORE (as --store).
"""
import os
import warnings

MODE = os.environ.get("RAFTVIZ_ASYNC_MODE", "eventlet")
if MODE == "eventlet":
    # Flask-SocketIO on eventlet is this project's stack; eventlet announces at every
    # import that it is in bugfix-only maintenance, which lecturers need not read.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()   # first, before anything else imports socket or threading

import argparse  # noqa: E402
import gc  # noqa: E402
import signal  # noqa: E402

import sys  # noqa: E402
from raftviz.web import MISSING_CLIENT, browser_client_missing, create_app  # noqa: E402


def settle_memory() -> None:
    """Keep the garbage collector's full passes short. A full pass looks at
    every object in the process at once, without yielding to the event loop,
    so each one stalls every client for as long as it takes. What exists now
    (modules, the app, the scenario library) lives as long as the server:
    freeze it so no pass looks at it again. Sessions' histories are kept small
    for the same reason (raftviz/sim/history.py, KEPT_CHUNKS)."""
    gc.collect()
    gc.freeze()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the raftviz server.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--scenarios", default=os.environ.get("RAFTVIZ_SCENARIOS"),
                        help="a folder of your own scenario files, loaded beside the bundled ones")
    parser.add_argument("--store", default=os.environ.get("RAFTVIZ_STORE") or "default",
                        help="where sessions are saved to outlive a restart: a SQLite file (default: "
                             "instance/raftviz-sessions.sqlite3), or none")
    parser.add_argument("--message-queue", default=os.environ.get("RAFTVIZ_MESSAGE_QUEUE"),
                        help="a Redis URL (redis://host:6379/0) shared by several raftviz processes behind one "
                             "address; sessions are then kept in that Redis too unless --store says otherwise")
    parser.add_argument("--debug", action="store_true", help="Flask debug mode (never on a shared network)")
    args = parser.parse_args()
    config = {"ASYNC_MODE": MODE, "DEBUG": args.debug, "SCENARIOS": args.scenarios, "STORE": args.store,
              "MESSAGE_QUEUE": args.message_queue}
    for key in ("MAX_SESSIONS", "NEW_SESSIONS_PER_MINUTE", "MAX_ROOMS", "MAX_VIEWERS", "MAX_COPIES",
                "JOINS_PER_MINUTE", "VIEWER_ACTION_RATE"):
        if os.environ.get(f"RAFTVIZ_{key}"):
            config[key] = int(os.environ[f"RAFTVIZ_{key}"])
    if os.environ.get("RAFTVIZ_PUBLIC_URL"):
        config["PUBLIC_URL"] = os.environ["RAFTVIZ_PUBLIC_URL"]   # the address in rooms' links and QR codes
    if os.environ.get("RAFTVIZ_FRAME_ANCESTORS"):
        config["FRAME_ANCESTORS"] = os.environ["RAFTVIZ_FRAME_ANCESTORS"]
    if browser_client_missing():
        print(MISSING_CLIENT, file=sys.stderr, flush=True)
        sys.exit(1)
    app = create_app(config)
    for problem in app.extensions["raftviz"].library.problems():
        print(f"Scenario not loaded: {problem}", flush=True)
    settle_memory()
    socketio = app.extensions["raftviz"].socketio
    extra = {"allow_unsafe_werkzeug": True} if MODE == "threading" else {}   # Werkzeug's server, for development
    server = app.extensions["raftviz"]
    if server.keeper is not None:
        print(f"Sessions are saved in {server.keeper.store}"
              + (f"; {len(server.sessions.pending)} from before are being brought back" if server.sessions.pending else ""),
              flush=True)
    print(f"raftviz is running at http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    # Stopped (Ctrl+C, or SIGTERM from a service manager): every session is saved where it stands,
    # then the process ends. The saving runs as a task of its own: an exception raised inside
    # whatever the signal interrupted could be swallowed by the library code running there.
    def stop(*_):
        def save_and_exit():
            try:
                server.save_all()
            finally:
                sys.stdout.flush()
                os._exit(0)
        socketio.start_background_task(save_and_exit)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    socketio.run(app, host=args.host, port=args.port, debug=args.debug, use_reloader=False,
                 log_output=args.debug, **extra)


if __name__ == "__main__":
    main()
