"""What the benchmarks and the tests share: a copy of the repo to run make in (for the
benchmark's `make all` and the pipeline tests), a clean environment, a free port, a
server of the models in a folder."""
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from housing.config import ROOT

BASELINE = ROOT / "tests" / "baseline"  # the usual scikit-learn scripts, compared against


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The Makefile's parameters (its `NAME ?= value` lines), which a user may export
PARAMETERS = frozenset(re.findall(r"^([A-Z_]+) \?=", (ROOT / "Makefile").read_text(), re.M))


def plain_env():
    """This environment without what a parent make exports (flags, job server,
    MAKELEVEL) or what a user exported of the Makefile's parameters (SEED, BITS,
    BASE_IMAGE, ...) or of housing serve's settings (HOUSING_*), so a make run or a
    server started here starts afresh, at the defaults."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("MAKE", "MFLAGS", "HOUSING_")) and k not in PARAMETERS}


def terminal(command, cwd, env, seconds=60):
    """What a terminal shows of the bash ``command``: its stdout and stderr written to one
    pseudo-terminal, in the order the program wrote them (each stream line-buffered, as
    Python and C programs buffer a terminal), with the terminal's CR LF read as LF.
    Returns (exit status, the text); an AssertionError when it runs past ``seconds``."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    shown = bytearray()
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"`{command}` ran past {seconds} s; it printed\n{shown.decode()}"
            if not select.select([leader], [], [], left)[0]:
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not data:
                break
            shown += data
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return proc.returncode, shown.decode().replace("\r\n", "\n")


def copy_repo(dest):
    """What the pipeline needs of the repo, copied with mtimes kept (so make sees nothing
    newer than it is) and the venvs linked rather than rebuilt."""
    for name in ("housing", ".github", "tests/tools", "deploy/edge"):
        shutil.copytree(ROOT / name, dest / name, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Makefile", "README.md", "requirements.txt", "pyproject.toml", "Dockerfile",
                 ".dockerignore", "tests/dev.mk"):
        shutil.copy2(ROOT / name, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    if (ROOT / ".venv-track").exists():  # make track's environment, when it was made
        (dest / ".venv-track").symlink_to(ROOT / ".venv-track")
    return dest


def wait_answering(url, proc, log, seconds=10):
    """Wait until ``url`` answers; an AssertionError with the end of ``log`` (a path) when
    ``proc`` exits first or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (
                f"{url} did not answer: " + Path(log).read_text()[-3000:])
            time.sleep(0.1)


@contextmanager
def serving(cwd, log, *options):
    """``housing serve`` of the models under ``cwd`` on a free port, ready: yields the port,
    then stops it. Its output goes to ``log`` (a path); an exit before it is ready is an
    AssertionError that shows it."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "housing", "serve", "--port", str(port),
                                 *options], cwd=cwd, env=plain_env(), stdout=out, stderr=out)
    try:
        wait_answering(f"http://127.0.0.1:{port}/v2/health/ready", proc, log)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def slow_clients(port, body):
    """Hold slow and stalled connections to ``port`` open: 200 stalled mid-headers, 200
    sending their headers a line at a time, 100 that send nothing, 12 that pipeline infer
    requests (``body``, bytes) and never read, 12 that stop halfway through a body.
    Yields a function that sends each trickling connection one more header line."""
    infer = (b"POST /v2/models/float/infer HTTP/1.1\r\nHost: x\r\nContent-Type: "
             b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    held, lines = [], [0]

    def connect(first=b""):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(first)
        held.append(s)
        return s

    def trickle():
        lines[0] += 1
        for s in trickling:
            s.sendall(b"X-Slow-%d: 1\r\n" % lines[0])  # one header line at a time
    try:
        for _ in range(200):
            connect(b"GET /ping HTTP/1.1\r\nHo")  # stalled halfway through the headers
        trickling = [connect(b"GET /ping HTTP/1.1\r\n") for _ in range(200)]
        for _ in range(100):
            connect()  # connected, and nothing sent
        for _ in range(12):  # requests pipelined, and the answers never read
            s = connect()
            s.setblocking(False)
            try:
                for _ in range(2000):
                    s.send(infer + body)
            except BlockingIOError:
                pass
        for _ in range(12):
            connect(infer + body[:len(body) // 2])  # half a body, then nothing
        yield trickle
    finally:
        for s in held:
            s.close()
