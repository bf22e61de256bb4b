"""Serving benchmark: figures to read, never assertions.

    python tests/bench/loadtest.py --compare-python .venv-serve-bench/bin/python [--seconds 10]

Four servers, one after another, on free local ports, each with two worker processes and
the same model: ours (``housing serve``, gunicorn's asgi worker); ours without the drift
counters (``--no-drift-metrics``), which gives what counting each row by feature and bin
costs; Seldon MLServer with its scikit-learn runtime and a joblib file; and Flask +
scikit-learn on gunicorn's sync workers (tests/baseline/flask_app.py). For each: requests per second and latency percentiles of
single-row Open Inference Protocol infer requests from wrk, 16 connections for
``--seconds``; the resident memory of each server process; and the time a 10,000-row
request takes (median of 5). wrk comes from the distribution: ``apt-get install wrk``.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from housing import store
from housing.serving import oip
from housing.cli import Parser, UserError, command, count
from housing.config import FLOAT_MODEL, ROOT, SPLIT
from repo import BASELINE, free_port, plain_env, slow_clients

CONNECTIONS = 16


def rss_mb(pid):
    """Resident memory, MB, of ``pid`` and of each of its descendants."""
    out = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            out[p] = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, AttributeError):
            pass
    return out


def wrk(url, body, seconds, tmp, headers=None):
    """(requests/s, {percentile: ms}) of wrk POSTing ``body`` (text, or bytes with their
    ``headers``) to ``url``."""
    script = tmp / "post.lua"
    data = body.encode() if isinstance(body, str) else body
    lines = ['wrk.method = "POST"', 'wrk.body = "' + "".join(f"\\{b}" for b in data) + '"']
    for key, value in (headers or {"Content-Type": "application/json"}).items():
        lines.append(f'wrk.headers["{key}"] = "{value}"')
    script.write_text("\n".join(lines) + "\n")
    run = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True,
                         timeout=seconds + 30, check=True)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))
    lat = {}
    for pct, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", run.stdout, re.M):
        lat[int(pct)] = float(value) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
    if errors:
        raise UserError(f"{url}: {errors.group(1)} failed requests under load")
    return rate, lat


def binary_request(X):
    """(body, headers) of an infer request of X as Triton's binary tensor data, asking
    for a binary output, as tritonclient sends it by default."""
    head = json.dumps({"inputs": [{"name": "features", "shape": list(X.shape),
                                   "datatype": "FP64",
                                   "parameters": {"binary_data_size": X.size * 8}}],
                       "parameters": {"binary_data_output": True}}).encode()
    return head + X.astype("<f8").tobytes(), {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(head))}


def big_request(url, body, repeat=5):
    times = []
    for _ in range(repeat):
        request = urllib.request.Request(url, data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as r:
            answer = json.load(r)
        times.append(time.perf_counter() - start)
    assert len(answer["outputs"][0]["data"]) == 10000
    return statistics.median(times) * 1000


def servers(py, tmp, joblib_model):
    """name -> (command, port, infer path, environment additions), each on a free port."""
    ports = [free_port() for _ in range(4)]
    repo = tmp / "mlserver"
    (repo / "housing").mkdir(parents=True)
    (repo / "settings.json").write_text(json.dumps({
        "http_port": ports[1], "grpc_port": free_port(), "metrics_port": free_port(),
        "host": "127.0.0.1", "parallel_workers": 2, "metrics_endpoint": None}))
    (repo / "housing" / "model-settings.json").write_text(json.dumps({
        "name": "housing", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(joblib_model)}}))
    return {
        "housing (ours)": ([sys.executable, "-m", "housing", "serve", "--port", str(ports[0]),
                            "--workers", "2", "--model", f"float={FLOAT_MODEL}",
                            "--default", "float"],
                           ports[0], "/v2/models/float/infer", {"PYTHONPATH": str(ROOT)}),
        "housing (ours, --no-drift-metrics)": (
            [sys.executable, "-m", "housing", "serve", "--port", str(ports[3]), "--workers", "2",
             "--model", f"float={FLOAT_MODEL}", "--default", "float", "--no-drift-metrics"],
            ports[3], "/v2/models/float/infer", {"PYTHONPATH": str(ROOT)}),
        "MLServer 1.7.1": ([str(Path(py).parent / "mlserver"), "start", str(repo)],
                           ports[1], "/v2/models/housing/infer", {}),
        "Flask + gunicorn": ([py, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{ports[2]}",
                              "--chdir", str(BASELINE), "flask_app:app"],
                             ports[2], "/v2/models/housing/infer",
                             {"HOUSING_JOBLIB": str(joblib_model)}),
    }


def launch(name, spec, tmp, bodies):
    """Start a server and wait for its first answer; returns (process, infer URL)."""
    argv, port, infer, env = spec
    url = f"http://127.0.0.1:{port}{infer}"
    log = tmp / f"{port}.log"
    # a process group of its own, to stop it whole; not a session of its own, which the
    # kernel's autogroup scheduling would give one share of the CPU against wrk's
    with open(log, "w") as f:
        proc = subprocess.Popen(argv, env=dict(plain_env(), **env), stdout=f, stderr=f,
                                process_group=0, cwd=tmp)
    try:
        wait_answering(url, bodies[0], proc)
    except UserError as e:
        stop(proc)
        raise UserError(f"{name}: {e}; its log: {log.read_text()[-2000:]}") from None
    return proc, url


def measure(names, runs, args, tmp, bodies):
    """Figures per server, rates and latencies as medians of ``args.rounds`` wrk runs,
    the servers taking turns so that a slow spell of the machine hits them alike."""
    figures = {name: {"big_ms": big_request(url, bodies[1])} for name, (_, url) in
               zip(names, runs)}
    for _, url in runs:
        wrk(url, bodies[0], 2, tmp)  # warm-up, not counted: caches, lazy imports, pools
    rounds = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, (_, url) in zip(names, runs):
            rounds[name].append(wrk(url, bodies[0], args.seconds, tmp))
    for name, (proc, _) in zip(names, runs):
        memory = rss_mb(proc.pid)
        rates = [rate for rate, _ in rounds[name]]
        figures[name].update(
            name=name, rate=statistics.median(rates), rates=rates,
            p50=statistics.median(lat[50] for _, lat in rounds[name]),
            p99=statistics.median(lat[99] for _, lat in rounds[name]),
            rss_max=max(memory.values()), rss_all=sum(memory.values()),
            processes=len(memory))
    return [figures[name] for name in names]


def slow_client_waits(port, body):
    """Milliseconds a new client waits for GET /ping, five times, while 200 connections
    stall mid-headers, 200 send a header line every 2 s, 100 send nothing, 12 pipeline
    requests and never read, and 12 stop halfway through a body."""
    waits = []
    with slow_clients(port, body.encode()) as trickle:
        for _ in range(5):
            trickle()
            start = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
            waits.append((time.perf_counter() - start) * 1000)
            time.sleep(2)
    return waits


def stop(proc):
    """SIGTERM to the server's whole process group; SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def wait_answering(url, body, proc, seconds=60):
    """Wait until ``url`` answers an infer request (every server's sign of readiness)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, data=body.encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                raise UserError(f"{url}: the server exited with status {proc.returncode}")
            time.sleep(0.2)
    raise UserError(f"{url}: not answering after {seconds} s")


def _parser():
    p = Parser(prog="housing loadtest", description=__doc__.splitlines()[0])
    p.add_argument("--compare-python", required=True,
                   help="the Python with MLServer, Flask and scikit-learn")
    p.add_argument("--seconds", type=count, default=10, help="each wrk run")
    p.add_argument("--rounds", type=count, default=3, help="wrk runs per server (median)")
    return p


@command("housing loadtest")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if shutil.which("wrk") is None:
        raise UserError("wrk is not installed; expected the load generator (Debian/Ubuntu: "
                        "apt-get install wrk)")
    py = os.path.abspath(args.compare_python)
    split = store.load_split(SPLIT).arrays
    X = split["X_test"]
    bodies = tuple(json.dumps(oip.request_for(rows))
                   for rows in (X[:1], np.resize(X, (10000, X.shape[1]))))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        joblib_model = tmp / "model.joblib"
        subprocess.run([py, BASELINE / "train.py", joblib_model], check=True,
                       capture_output=True, cwd=tmp)
        specs = servers(py, tmp, joblib_model)
        runs = []
        try:
            for name, spec in specs.items():
                runs.append(launch(name, spec, tmp, bodies))
            results = measure(list(specs), runs, args, tmp, bodies)
            waits = slow_client_waits(next(iter(specs.values()))[1], bodies[0])  # ours
            # ours again with tritonclient's default: binary tensors in and out
            body, headers = binary_request(X[:1])
            binary = [wrk(runs[0][1], body, args.seconds, tmp, headers)
                      for _ in range(args.rounds)]
        finally:
            for proc, _ in runs:
                stop(proc)
    ours = results[0]
    for r in results:
        print(f"bench-serve: {r['name']}: {r['rate']:,.0f} requests/s (runs: "
              f"{', '.join(f'{x:,.0f}' for x in r['rates'])}), p50 {r['p50']:.2f} ms, p99 "
              f"{r['p99']:.2f} ms; {r['processes']} processes, largest {r['rss_max']:.0f} MB "
              f"RSS, all {r['rss_all']:.0f} MB; a 10,000-row request {r['big_ms']:.0f} ms")
    print(f"bench-serve: medians of {args.rounds} runs of {args.seconds} s, {CONNECTIONS} "
          f"connections, one row per request, the servers taking turns")
    print(f"bench-serve: ours, GET /ping from a new client while 524 slow or stalled "
          f"connections are held: median {statistics.median(waits):.1f} ms, worst "
          f"{max(waits):.1f} ms (5 probes, 2 s apart)")
    without = results[1]
    print(f"bench-serve: the drift metrics cost {1 - ours['rate'] / without['rate']:.1%} of "
          f"the requests/s ({ours['rate']:,.0f} with them, {without['rate']:,.0f} without), "
          f"and {ours['big_ms'] - without['big_ms']:+.0f} ms on a 10,000-row request")
    for r in results[2:]:
        print(f"bench-serve: ours (drift metrics on) against {r['name']}: {ours['rate'] / r['rate']:.1f}x the "
              f"requests/s, p99 {ours['p99']:.2f} ms against {r['p99']:.2f} ms")
    rates = [rate for rate, _ in binary]
    print(f"bench-serve: ours with binary tensors in and out (tritonclient's default): "
          f"{statistics.median(rates):,.0f} requests/s (runs: "
          f"{', '.join(f'{x:,.0f}' for x in rates)}), p50 "
          f"{statistics.median(lat[50] for _, lat in binary):.2f} ms, p99 "
          f"{statistics.median(lat[99] for _, lat in binary):.2f} ms, after the JSON runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
