"""Start the real server (python app.py, eventlet) on a free port for a test."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(env: dict | None = None, args=(), log_path=None):
    """`python app.py` on a free port; its output goes to `log_path` if given
    (a test that reads the server's log), else to a pipe read if it fails to start."""
    port = free_port()
    out = open(log_path, "w") if log_path else subprocess.PIPE
    # No session store unless a test asks for one: each test's server starts empty.
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=ROOT,
                            env={**os.environ, "RAFTVIZ_STORE": "none", "PYTHONUNBUFFERED": "1", **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = proc.stdout.read() if proc.poll() is not None and proc.stdout else ""
                    raise RuntimeError(f"the server did not start: {said}")
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_path:
            out.close()


def start_redis(port: int) -> subprocess.Popen:
    """Debian's redis-server on a loopback port, nothing saved to disk, answering PING when this returns."""
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)


def redis_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@contextmanager
def running_redis():
    """A redis-server (start_redis) on a free port for a test; yields its URL and process."""
    import shutil
    import pytest
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing: the multi-process tests cannot run in CI.")
        pytest.skip("redis-server is not installed (make test installs it with apt)")
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
