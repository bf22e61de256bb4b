"""What a worker holds in memory: the bounds fitted to a container's memory limit, and a
real server under a real cgroup's limit, as deploy/deployment.yaml sets (256 MiB), sent
more at once than it may hold."""
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from housing.config import ROOT
from housing.serving import memory

from repo import free_port, plain_env
from serving import call, infer_body

MIB = 1 << 20


@pytest.mark.parametrize("lines, files, expected", [
    # cgroup v1, the memory controller's own hierarchy
    ("12:memory:/pod/app\n11:cpu,cpuacct:/pod/app\n",
     {"memory/pod/app/memory.limit_in_bytes": "268435456\n"}, 256 * MIB),
    ("12:memory:/\n", {"memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),
    # cgroup v2, the unified hierarchy, alone or beside v1
    ("0::/app\n", {"app/memory.max": "268435456\n"}, 256 * MIB),
    ("0::/app\n", {"app/memory.max": "max\n"}, None),
    ("1:name=systemd:/\n0::/app\n", {"unified/app/memory.max": "536870912\n"}, 512 * MIB),
    ("0::/gone\n", {}, None),
])
def test_the_memory_limit_is_read_from_this_process_cgroup(tmp_path, lines, files, expected):
    (tmp_path / "cgroup").write_text(lines)
    for name, text in files.items():
        (tmp_path / "fs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fs" / name).write_text(text)
    assert memory.limit(tmp_path / "cgroup", tmp_path / "fs") == expected


def test_the_bounds_fit_a_workers_share_of_the_limit():
    # 256 MiB for 2 workers: 128 MiB each, 80 past a worker's 48; a sixteenth of that for
    # the largest body, three for all the bodies held
    assert memory.bounds(256 * MIB, 2) == (5 * MIB, 15 * MIB)
    assert memory.bounds(256 * MIB, 2, max_body=MIB) == (MIB, 15 * MIB)
    assert memory.bounds(None, 2) == (16 * MIB, 64 * MIB)
    assert memory.bounds(None, 2, max_body=MIB) == (MIB, 4 * MIB)
    assert memory.bounds(8 << 30, 2).max_body == 16 * MIB  # never past the default


@pytest.fixture
def cgroup():
    """A cgroup v1 memory group of 256 MiB, made here (it needs root and the v1 memory
    controller, as these machines have): its folder."""
    base = Path("/sys/fs/cgroup/memory")
    if os.geteuid() != 0 or not (base / "cgroup.procs").exists():
        pytest.skip("needs root and cgroup v1's memory controller to make a memory limit")
    group = base / f"housing-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(256 * MIB))
    yield group
    for _ in range(50):  # the group empties as its processes end
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def test_a_worker_under_a_256_mib_limit_refuses_what_it_cannot_hold_and_lives(built, cgroup,
                                                                              tmp_path):
    port = free_port()
    command = (f"echo $$ > {cgroup}/cgroup.procs && exec {sys.executable} -m housing serve "
               f"--port {port} --workers 2 --body-timeout 3 --model float={built['float']} "
               f"--model quantized={built['quantized']}")
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=plain_env(), stdout=log,
                            stderr=subprocess.STDOUT)
    server = (f"127.0.0.1:{port}", proc)
    held = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the master and both workers, answering
            try:
                if len((cgroup / "cgroup.procs").read_text().split()) == 3:
                    call(server, "GET", "/v2/health/ready")
                    break
            except OSError:
                pass
            time.sleep(0.1)
        workers = sorted(int(p) for p in (cgroup / "cgroup.procs").read_text().split())
        # 48 clients each send 3.9 MiB of a declared 4 MiB (under the 5 MiB body the
        # limit allows), then stall: 187 MiB in all, where a worker may hold 15
        size = 4 * MIB
        head = (b"POST /v2/models/float/infer HTTP/1.1\r\nHost: x\r\nContent-Type: "
                b"application/json\r\nContent-Length: %d\r\n\r\n" % size)
        statuses = []
        for _ in range(48):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                s.sendall(head + b" " * (size - 100 * 1024))
            except OSError:
                pass  # refused while sending: its answer is waiting
            held.append(s)
        for s in held:
            s.settimeout(10)
            try:
                statuses.append(s.recv(4096).split(b"\r\n")[0].decode())
            except socket.timeout:
                statuses.append("held")  # still arriving, within the bound
        for s in held:
            s.close()
        answer = call(server, "POST", "/v2/models/float/infer", infer_body())[0]
        after = sorted(int(p) for p in (cgroup / "cgroup.procs").read_text().split())
        peak = int((cgroup / "memory.max_usage_in_bytes").read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    refused = statuses.count("HTTP/1.1 503 Service Unavailable")
    # the rest were held within the bound, until their body's deadline (a 408) or the end
    assert refused >= 30 and set(statuses) <= {"HTTP/1.1 503 Service Unavailable",
                                               "HTTP/1.1 408 Request Timeout", "held"}
    assert answer == 200 and after == workers  # no worker died and was replaced
    assert peak < 256 * MIB
    print(f"48 stalled 4 MiB bodies: {refused} refused with a 503, peak {peak / MIB:.0f} MiB")
