"""What the serving tests share: a live server on a free local port, requests to it, and
the references its answers are checked against."""
import asyncio
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

from housing import store
from housing.serving.app import App
from housing.serving.log import AccessLog
from housing.serving.served import Served
from housing.config import FEATURES, ROOT
from repo import plain_env


ROWS = np.array([[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23],
                 [5.6431, 52.0, 5.82, 1.07, 558.0, 2.55, 37.85, -122.25],
                 [2.0804, 42.0, 4.29, 1.12, 1206.0, 2.03, 37.84, -122.26]])


MAX_BODY = 1 << 20


CLIENTS = ROOT / ".venv-clients" / "bin" / "python"


def start(built, port, *extra, env=None, cwd=ROOT, models=("float", "quantized")):
    """A server on ``port``, ready, of the ``housing`` package in ``cwd``, serving the
    built ``models`` (a name serves its file; a mapping, name to the built file it serves);
    its stdout and stderr go to files, never to a pipe that could fill while nobody reads
    it and block the server's log writes."""
    served = models if isinstance(models, dict) else {name: name for name in models}
    argv = [sys.executable, "-m", "housing", "serve", "--port", str(port), "--workers", "1",
            *(f"--model={name}={built[file]}" for name, file in served.items()), *extra]
    env = dict(plain_env(), **{"HOUSING_MAX_BODY": str(MAX_BODY), "HOUSING_BODY_TIMEOUT": "1",
                              **(env or {})})
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
    proc.out, proc.err = out, err
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(stop(proc)[2])
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not become ready in 15 s")


def stop(proc):
    """SIGTERM, as docker stop sends: (exit status, stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return (proc.returncode,) + tuple(read_all(f) for f in (proc.out, proc.err))


def read_all(f):
    f.seek(0)
    return f.read()


def call(server, method, path, body=None, content_type="application/json", headers=None):
    """(status, parsed JSON body, headers) of one request."""
    conn = http.client.HTTPConnection(server[0], timeout=10)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    h = dict(headers or {})
    if content_type and body is not None:
        h["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data), resp.headers


def formula(built, kind, X=ROWS):
    model = store.load_model(built[kind])
    return X @ model.coef + model.intercept


def cli(built, kind, X=ROWS):
    """The CLI's predictions of the same rows, as floats."""
    text = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
    run = subprocess.run([sys.executable, "-m", "housing", "predict", "--model", str(built[kind])],
                         input=text, capture_output=True, text=True, cwd=ROOT, check=True)
    return [float(v) for v in run.stdout.split()]


TENSORS = {
    "flat": [{"name": "x", "shape": [3, 8], "datatype": "FP64", "data": ROWS.ravel().tolist()}],
    "nested": [{"name": "x", "shape": [3, 8], "datatype": "FP32", "data": ROWS.tolist()}],
    "per feature [n]": [{"name": f, "shape": [3], "datatype": "FP64", "data": ROWS[:, j].tolist()}
                        for j, f in enumerate(FEATURES)][::-1],
    "per feature [n, 1]": [{"name": f, "shape": [3, 1], "datatype": "FP64",
                            "data": [[v] for v in ROWS[:, j].tolist()]}
                           for j, f in enumerate(FEATURES)],
}


RECORDS = [dict(zip(FEATURES, r)) for r in ROWS.tolist()]


def infer_body(**change):
    tensor = {"name": "x", "shape": [3, 8], "datatype": "FP64", "data": ROWS.tolist()}
    return {"inputs": [dict(tensor, **change)]}


def with_value(i, j, value):
    data = ROWS.tolist()
    data[i][j] = value
    return infer_body(data=data)


def raw(server, head, body=b"", wait=5):
    """Send raw bytes; the status line of what comes back within ``wait`` seconds."""
    host, port = server[0].split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(head + body)
        return s.recv(4096).split(b"\r\n")[0].decode()


HEAD = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def answered(port, timeout=5):
    """The status line a new client gets for GET /ping within ``timeout`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        return s.recv(4096).split(b"\r\n")[0].decode()


def installed(module):
    if not CLIENTS.exists():
        return False
    return subprocess.run([CLIENTS, "-c", f"import {module}"], capture_output=True).returncode == 0


def exchange(server, method, path, body=b"", headers=None):
    """(status, body bytes, headers) of one request, the body sent as it is."""
    conn = http.client.HTTPConnection(server[0], timeout=10)
    conn.request(method, path, body=body, headers=dict(headers or {}))
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data, resp.headers


def binary_request(X, datatype, outputs=True):
    """Triton's binary tensor data by hand: a JSON header, then X's little-endian bytes."""
    data = X.astype({"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4"}[datatype])
    head = {"inputs": [{"name": "features", "shape": list(X.shape), "datatype": datatype,
                        "parameters": {"binary_data_size": data.nbytes}}]}
    if outputs:
        head["outputs"] = [{"name": "MedHouseVal", "parameters": {"binary_data": True}}]
    head = json.dumps(head).encode()
    return head + data.tobytes(), {"Inference-Header-Content-Length": str(len(head)),
                                   "Content-Type": "application/octet-stream"}


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)


def in_process_app(built, log):
    """The ASGI app of both built models, in this process, logging to ``log``."""
    served = Served.load([f"{k}={built[k]}" for k in ("float", "quantized")], "quantized")
    return App(served, AccessLog(log), max_body=1 << 20, body_timeout=5)


def asgi(app, method, path, body=b"", headers=()):
    """The Answer of one request to the ASGI app, in this process."""
    scope = {"type": "http", "method": method, "path": path, "client": ("127.0.0.1", 1),
             "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers]}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)
    asyncio.run(app(scope, receive, send))
    return Answer(sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"])


def metric(text, name, **labels):
    """The value of one sample of Prometheus' text format, 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(line.split()[-1])
    return 0.0
