"""The HTTP server, started for real on a free local port, through both protocols."""
import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

import numpy as np
import pytest

from housing import store
from housing.config import FEATURES, ROOT
from repo import free_port, plain_env, slow_clients

ROWS = np.array([[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23],
                 [5.6431, 52.0, 5.82, 1.07, 558.0, 2.55, 37.85, -122.25],
                 [2.0804, 42.0, 4.29, 1.12, 1206.0, 2.03, 37.84, -122.26]])
MAX_BODY = 1 << 20
CLIENTS = ROOT / ".venv-clients" / "bin" / "python"


def start(built, port, *extra, env=None):
    """A server on ``port``, ready; its stdout and stderr go to files, never to a pipe
    that could fill while nobody reads it and block the server's log writes."""
    argv = [sys.executable, "-m", "housing", "serve", "--port", str(port), "--workers", "1",
            "--model", f"float={built['float']}",
            "--model", f"quantized={built['quantized']}", *extra]
    env = dict(plain_env(), **{"HOUSING_MAX_BODY": str(MAX_BODY), "HOUSING_BODY_TIMEOUT": "1",
                              **(env or {})})
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err)
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


@pytest.fixture(scope="module")
def server(built):
    port = free_port()
    proc = start(built, port)
    yield f"127.0.0.1:{port}", proc
    if proc.poll() is None:
        status, out, err = stop(proc)
        assert status == 0 and "Traceback" not in err, err


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


def test_health_metadata_and_version(server, built):
    assert call(server, "GET", "/v2/health/live")[:2] == (200, {"live": True})
    assert call(server, "GET", "/v2/health/ready")[:2] == (200, {"ready": True})
    status, meta, _ = call(server, "GET", "/v2")
    assert status == 200 and meta["name"] == "housing"
    assert call(server, "GET", "/v2/models/float/ready")[:2] == (200, {"name": "float",
                                                                      "ready": True})
    status, meta, _ = call(server, "GET", "/v2/models/quantized")
    model = store.load_model(built["quantized"])
    assert meta["inputs"] == [{"name": "features", "datatype": "FP64", "shape": [-1, 8]}]
    assert meta["outputs"] == [{"name": "MedHouseVal", "datatype": "FP64", "shape": [-1]}]
    assert meta["parameters"]["method"] == model.meta["method"]
    assert meta["parameters"]["bits"] == 8
    assert meta["parameters"]["training_ranges"] == model.meta["ranges"]
    for path in ("/ping", "/health"):
        assert call(server, "GET", path)[0] == 200
    from housing import __version__
    assert call(server, "GET", "/version")[:2] == (200, {"version": __version__})


TENSORS = {
    "flat": [{"name": "x", "shape": [3, 8], "datatype": "FP64", "data": ROWS.ravel().tolist()}],
    "nested": [{"name": "x", "shape": [3, 8], "datatype": "FP32", "data": ROWS.tolist()}],
    "per feature [n]": [{"name": f, "shape": [3], "datatype": "FP64", "data": ROWS[:, j].tolist()}
                        for j, f in enumerate(FEATURES)][::-1],
    "per feature [n, 1]": [{"name": f, "shape": [3, 1], "datatype": "FP64",
                            "data": [[v] for v in ROWS[:, j].tolist()]}
                           for j, f in enumerate(FEATURES)],
}


@pytest.mark.parametrize("shape", TENSORS)
@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_infer_every_tensor_layout(server, built, shape, kind):
    status, out, _ = call(server, "POST", f"/v2/models/{kind}/infer",
                          {"id": "req-7", "inputs": TENSORS[shape]})
    assert status == 200 and out["id"] == "req-7" and out["model_name"] == kind
    (output,) = out["outputs"]
    assert output["name"] == "MedHouseVal" and output["datatype"] == "FP64"
    assert output["shape"] == [3]
    np.testing.assert_allclose(output["data"], formula(built, kind), rtol=1e-12)
    assert output["data"] == cli(built, kind)  # the same floats as the command line


def test_integer_datatypes(server, built):
    X = np.round(ROWS).astype(int)
    status, out, _ = call(server, "POST", "/v2/models/float/infer", {"inputs": [
        {"name": "x", "shape": [3, 8], "datatype": "INT64", "data": X.tolist()}]})
    assert status == 200
    np.testing.assert_allclose(out["outputs"][0]["data"], formula(built, "float", X),
                               rtol=1e-12)


RECORDS = [dict(zip(FEATURES, r)) for r in ROWS.tolist()]
MLFLOW = {
    "dataframe_split": {"dataframe_split": {"columns": list(FEATURES), "index": [0, 1, 2],
                                            "data": ROWS.tolist()}},
    "dataframe_records": {"dataframe_records": [dict(r, MedHouseVal=1.0) for r in RECORDS]},
    "instances, records": {"instances": RECORDS},
    "instances, lists": {"instances": ROWS.tolist()},
    "inputs, columns": {"inputs": {f: ROWS[:, j].tolist() for j, f in enumerate(FEATURES)}},
}


@pytest.mark.parametrize("shape", MLFLOW)
def test_invocations_json(server, built, shape):
    status, out, _ = call(server, "POST", "/invocations", MLFLOW[shape])
    assert status == 200 and list(out) == ["predictions"]
    assert out["predictions"] == cli(built, "quantized")


def test_invocations_csv_takes_the_cli_rules(server, built):
    text = ",MedHouseVal," + ",".join(FEATURES) + "\r\n" + "".join(
        f"{i},1.0," + ",".join(map(repr, r)) + "\r\n" for i, r in enumerate(ROWS.tolist()))
    status, out, _ = call(server, "POST", "/invocations", text, "text/csv; charset=utf-8")
    assert status == 200 and out["predictions"] == cli(built, "quantized")


def test_a_10000_row_request(server, built):
    X = np.tile(ROWS, (3334, 1))[:10000]
    start_ = time.perf_counter()
    status, out, _ = call(server, "POST", "/v2/models/float/infer", {"inputs": [
        {"name": "x", "shape": [10000, 8], "datatype": "FP64", "data": X.tolist()}]})
    assert status == 200 and len(out["outputs"][0]["data"]) == 10000
    np.testing.assert_allclose(out["outputs"][0]["data"], formula(built, "float", X), rtol=1e-12)
    assert time.perf_counter() - start_ < 10  # a bound on hanging, not a speed figure


def infer_body(**change):
    tensor = {"name": "x", "shape": [3, 8], "datatype": "FP64", "data": ROWS.tolist()}
    return {"inputs": [dict(tensor, **change)]}


def with_value(i, j, value):
    data = ROWS.tolist()
    data[i][j] = value
    return infer_body(data=data)


BAD = {
    "malformed JSON": ("/v2/models/float/infer", '{"inputs": [', 400,
                       "request body: not valid JSON (Expecting value at column 13)"),
    # a byte-order mark is dropped; a bad byte after it is counted from the body's start
    "byte-order mark": ("/v2/models/float/infer", b'\xef\xbb\xbf{"inputs": [', 400,
                        "request body: not valid JSON (Expecting value at column 13)"),
    "bad byte after a byte-order mark": (
        "/v2/models/float/infer", b'\xef\xbb\xbf{"inputs": [\x83]}', 400,
        "request body: expected UTF-8 text, got byte 0x83 at position 16"),
    "wrong shape": ("/v2/models/float/infer", infer_body(shape=[4, 8]), 400,
                    "input 'x': shape [4, 8] holds 32 values, 'data' has 24"),
    "seven columns": ("/v2/models/float/infer",
                      infer_body(shape=[3, 7], data=ROWS[:, :7].tolist()), 400,
                      "input 'x': expected shape [n, 8] (the features in the model's order: "
                      "MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, "
                      "Longitude), got [3, 7]"),
    "string": ("/v2/models/float/infer", with_value(1, 2, "7"), 400,
               "input 'x', row 2, column 'AveRooms': expected a number (FP64), got '7'"),
    "null": ("/v2/models/float/infer", with_value(2, 0, None), 400,
             "input 'x', row 3, column 'MedInc': expected a number (FP64), got null"),
    "NaN": ("/v2/models/float/infer", json.dumps(with_value(0, 6, float("nan"))), 400,
            "request body: expected a finite number, got NaN"),
    "Infinity in the id": ("/v2/models/float/infer", '{"id": Infinity, "inputs": []}', 400,
                           "request body: expected a finite number, got Infinity"),
    "an id that is not a string": ("/v2/models/float/infer", dict(infer_body(), id=7), 400,
                                   "request body: expected 'id', a string, got a number"),
    "an unknown output": ("/v2/models/float/infer", dict(infer_body(), outputs=[
        {"name": "MedHouseValue"}]), 400, "request body, output 1: no output named "
                                          "'MedHouseValue'; expected MedHouseVal"),
    "a datatype of the wrong JSON type": ("/v2/models/float/infer", infer_body(datatype=[1]),
                                          400, "input 'x': expected datatype FP64, FP32, "
                                               "INT64, INT32, got an array"),
    "a name of the wrong JSON type": ("/v2/models/float/infer", infer_body(name={}), 400,
                                      "request body, input 1: expected 'name', a string, got "
                                      "an object"),
    "65 dimensions": ("/v2/models/float/infer", infer_body(shape=[1] * 65, data=[1]), 400,
                      "input 'x': expected 'shape', one or two sizes (as [n, 8] or [n]), got "
                      "'[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ...'"),
    "nested too deeply": ("/v2/models/float/infer", "[" * 50000 + "]" * 50000, 400,
                          "request body: not valid JSON (nested too deeply)"),
    "an integer of 5,000 digits": ("/v2/models/float/infer", json.dumps(with_value(
        0, 4, 0)).replace(", 0,", ", " + "9" * 5000 + ",", 1), 400,
        "input 'x', row 1, column 'Population': '9999999999999999999999999999999999999...' "
        "overflows to infinity"),
    "past INT32": ("/v2/models/float/infer", infer_body(datatype="INT32", data=[
        [2 ** 31] + [1] * 7] * 3), 400, "input 'x', row 1, column 'MedInc': '2147483648' is "
                                        "outside INT32's range, -2.14748e+09 to 2.14748e+09"),
    "past FP32": ("/v2/models/float/infer", infer_body(datatype="FP32", data=[
        [1e39] + [1] * 7] * 3), 400, "input 'x', row 1, column 'MedInc': 1e+39 is outside "
                                     "FP32's range, -3.40282e+38 to 3.40282e+38"),
    "float for INT64": ("/v2/models/float/infer", infer_body(datatype="INT64"), 400,
                        "input 'x', row 1, column 'MedInc': expected an integer (INT64), got "
                        "8.3252"),
    # MedInc and AveBedrms, both with positive coefficients, at 1.7e308: the sum overflows
    "overflow": ("/v2/models/float/infer", infer_body(data=np.where(
        (np.arange(3)[:, None] == 1) & np.isin(np.arange(8), [0, 3]), 1.7e308, ROWS).tolist()),
        400,
                 "row 2: the prediction overflows to inf; expected features small enough for "
                 "a finite prediction"),
    "missing feature": ("/v2/models/float/infer", {"inputs": TENSORS["per feature [n]"][1:]},
                        400, "request body: missing input Longitude; expected MedInc, HouseAge, "
                             "AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude"),
    "misspelt feature": ("/v2/models/float/infer", {"inputs": [dict(
        TENSORS["per feature [n]"][0], name="longitude")] + TENSORS["per feature [n]"][1:]}, 400,
        "request body: missing input Longitude ('longitude' looks like Longitude); expected "
        "MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude"),
    "mlflow missing column": ("/invocations", {"dataframe_split": {
        "columns": ["medinc"] + list(FEATURES[1:]), "data": ROWS.tolist()}}, 400,
        "request body, 'columns': missing column MedInc ('medinc' looks like MedInc); expected "
        "MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude"),
    "mlflow null": ("/invocations", {"dataframe_records": [RECORDS[0], dict(RECORDS[1],
                                                                             HouseAge=None)]},
                    400, "request body, dataframe_records 2, column 'HouseAge': expected a "
                         "number, got null"),
    "mlflow csv text": ("/invocations", ",".join(FEATURES) + "\n1,2,x,4,5,6,7,8\n", 400,
                        "request body, line 2, column 'AveRooms': expected a number, got 'x'"),
    "mlflow unknown key": ("/invocations", {"rows": []}, 400,
                           "request body: expected an object with one of dataframe_split, "
                           "dataframe_records, instances, inputs; got 'rows'"),
    "unknown model": ("/v2/models/forest/infer", infer_body(), 404,
                      "no model named 'forest'; expected one of float, quantized"),
    "unknown path": ("/predict", infer_body(), 404,
                     "no such path '/predict'; expected /v2/..., /invocations, /ping, /health, "
                     "/version, /metrics or /openapi.json"),
    "wrong method": ("/v2/health/ready", infer_body(), 405,
                     "POST is not allowed on /v2/health/ready; expected GET, HEAD"),
    "content type": ("/invocations", "a,b\n", 415,
                     "Content-Type 'text/plain' is not accepted here; expected application/json "
                     "or text/csv"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_requests_get_the_status_and_the_cli_s_words(server, case):
    path, body, status, message = BAD[case]
    content_type = "text/plain" if case == "content type" else (
        "text/csv" if case == "mlflow csv text" else "application/json")
    got, out, headers = call(server, "POST", path, body, content_type)
    # /invocations answers in MLflow's shape, which MLflow's clients read
    shape = ({"error_code": "BAD_REQUEST", "message": message} if path == "/invocations"
             else {"error": message})
    assert (got, out) == (status, shape)
    if status == 405:
        assert headers["Allow"] == "GET, HEAD, OPTIONS"


def raw(server, head, body=b"", wait=5):
    """Send raw bytes; the status line of what comes back within ``wait`` seconds."""
    host, port = server[0].split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(head + body)
        return s.recv(4096).split(b"\r\n")[0].decode()


HEAD = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
MALFORMED = {  # raw request -> (status, gunicorn's own one-line answer, as it words it)
    "a header twice": (HEAD + "Content-Type: text/csv\r\nContent-Length: 2\r\n\r\n{}", 400,
                       "Duplicate content-type header"),
    "HTTP/9.9": ("GET /v2 HTTP/9.9\r\nHost: x\r\n\r\n", 400, "HTTP/9.9"),
    "a bad method": ("G@T /v2 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "G@T"),
    "a space in a header name": ("GET /v2 HTTP/1.1\r\nBad Header: x\r\n\r\n", 400,
                                 "Bad Header"),
    "a request line too long": ("GET /" + "a" * 9000 + " HTTP/1.1\r\n\r\n", 414,
                                "Request line is too large"),
    "101 headers": ("GET /v2 HTTP/1.1\r\n" + "X: y\r\n" * 101 + "\r\n", 431,
                    "Too many headers"),
    "a broken chunk": (HEAD + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
                       "Invalid character in chunk size"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_what_gunicorn_cannot_parse_gets_a_4xx_and_one_line(server, case):
    request, status, message = MALFORMED[case]
    host, port = server[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(request.encode())
        response = http.client.HTTPResponse(s)
        response.begin()
        assert (response.status, response.read().decode()) == (status, message)
    assert call(server, "GET", "/v2/health/ready")[0] == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    head = (f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode()
    assert raw(server, head).startswith("HTTP/1.1 413 ")  # no body was sent


def test_a_slow_body_times_out_and_frees_the_thread(server):
    head = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n")
    start_ = time.monotonic()
    assert raw(server, head, b'{"inputs"') == "HTTP/1.1 408 Request Timeout"
    assert time.monotonic() - start_ < 4
    assert call(server, "GET", "/v2/health/ready")[0] == 200


def mutations(count, seed=0):
    rng = np.random.default_rng(seed)
    good = json.dumps({"id": "m", "inputs": TENSORS["nested"]}).encode()
    alphabet = b'{}[],:"0123456789.-eE naNIfitrulsx\\\x00\xff'
    for _ in range(count):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, len(b)))
            b[i:i + int(rng.integers(0, 3))] = bytes([alphabet[rng.integers(0, len(alphabet))]])
        yield bytes(b)


def test_hundreds_of_malformed_bodies_never_give_a_500(server):
    statuses = {}
    for body in mutations(300):
        status, out, _ = call(server, "POST", "/v2/models/quantized/infer", body)
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (200, 400), (body, out)
        if status == 400:
            assert list(out) == ["error"] and "\n" not in out["error"]
    assert statuses.get(400, 0) > 100 and statuses.get(200, 0) > 5
    assert call(server, "GET", "/v2/health/ready")[0] == 200


def test_each_request_gets_one_access_log_line_and_sigterm_finishes_in_flight_work(built):
    port = free_port()
    proc = start(built, port)
    server = (f"127.0.0.1:{port}", proc)
    call(server, "GET", "/v2/health/live")
    call(server, "POST", "/v2/models/float/infer", infer_body())
    # a request in flight: headers and half the body sent, then SIGTERM, then the rest
    body = json.dumps(infer_body()).encode()
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(b"POST /v2/models/float/infer HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: " + str(len(body)).encode() +
                 b"\r\n\r\n" + body[:20])
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    conn.sendall(body[20:])
    answer = conn.recv(65536).decode()
    conn.close()
    assert answer.startswith("HTTP/1.1 200 OK")
    status, out, err = stop(proc)
    assert status == 0 and "Traceback" not in err
    lines = out.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp + r" housing serve: float \(version [0-9a-f]{12}\), quantized "
                        r"\(version [0-9a-f]{12}\) on http://127\.0\.0\.1:\d+; settings: host="
                        r"127\.0\.0\.1 .* max_body=1048576 body_timeout=1\.0 .*", lines[0])
    assert re.fullmatch(stamp + r" housing serve: worker \d+ stopped after \d+ requests", lines[-1])
    # one line a request, the health probe (which succeeded) left out: time, client,
    # request id, method, path, status, rows, milliseconds
    requests = [line.split() for line in lines[1:-1]]
    assert [r[3:7] for r in requests] == [["POST", "/v2/models/float/infer", "200", "3"]] * 2
    assert all(re.fullmatch(stamp, r[0]) and r[1] == "127.0.0.1" and re.fullmatch(
        "[0-9a-f]{20}", r[2]) and r[7].endswith("ms") and len(r) == 8 for r in requests)
    assert requests[0][2] != requests[1][2]


def test_request_ids_json_logs_and_failed_probes(built):
    port = free_port()
    proc = start(built, port, "--log-format", "json")
    server = (f"127.0.0.1:{port}", proc)
    _, _, headers = call(server, "POST", "/v2/models/float/infer", infer_body(),
                         headers={"X-Request-ID": "req-42"})
    assert headers["X-Request-ID"] == "req-42"
    forged = "a\nb"  # not fit for a log line: a new id instead
    assert call(server, "GET", "/version", headers={"X-Request-ID": "x" * 200})[2][
        "X-Request-ID"] != "x" * 200
    call(server, "GET", "/v2/health/live")
    call(server, "GET", "/v2/models/forest/ready")
    call(server, "GET", "/v2/health/live/x%E2%80%A8")
    status, out, err = stop(proc)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["event"] for line in lines] == ["start", "request", "request", "request",
                                                 "request", "stop"]
    assert lines[0]["models"].keys() == {"float", "quantized"}
    assert lines[0]["settings"]["log_format"] == "json"
    first = lines[1]
    assert {k: first[k] for k in ("client", "request_id", "method", "path", "status", "rows")} \
        == {"client": "127.0.0.1", "request_id": "req-42", "method": "POST",
            "path": "/v2/models/float/infer", "status": 200, "rows": 3}
    assert [(line["path"], line["status"]) for line in lines[3:5]] == [
        ("/v2/models/forest/ready", 404), ("/v2/health/live/x\u2028", 404)]
    assert forged and lines[-1]["requests"] >= 5  # and start-up's readiness probes


def test_help_lists_every_variable_and_bad_values_stop_start_up(built):
    run = subprocess.run([sys.executable, "-m", "housing", "serve", "--help"],
                         capture_output=True, text=True, cwd=ROOT, env=plain_env())
    for flag in re.findall(r"^  (--[a-z-]+)", run.stdout, re.M):
        if flag not in ("--help", "--model"):
            assert f"HOUSING_{flag[2:].upper().replace('-', '_')}" in run.stdout, flag
    run = subprocess.run([sys.executable, "-m", "housing", "serve"], capture_output=True,
                         text=True, cwd=ROOT, env=dict(plain_env(), HOUSING_LOG_FORMAT="xml"))
    assert (run.returncode, run.stderr) == (2, "housing serve: error: HOUSING_LOG_FORMAT: "
                                               "expected text or json, got 'xml'\n")


def metric(text, name, **labels):
    """The value of one sample of Prometheus' text format, 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(line.split()[-1])
    return 0.0


def test_metrics_count_every_request_through_both_workers_and_never_go_back(built, tmp_path):
    port = free_port()
    proc = start(built, port, "--workers", "2", "--metrics-dir", str(tmp_path))
    server = (f"127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 15
        while listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # both workers listening before the requests
        def scrape():
            status, data, headers = exchange(server, "GET", "/metrics")
            assert status == 200 and headers["Content-Type"].startswith("text/plain")
            return data.decode()
        X = ROWS.copy()
        X[0, 4] = 1e7  # one row outside the training range a request
        before = scrape()
        for _ in range(40):  # a new connection each: the kernel spreads them over both
            assert call(server, "POST", "/v2/models/quantized/infer",
                        infer_body(data=X.tolist()))[0] == 200
        for _ in range(5):
            assert call(server, "POST", "/invocations", {"instances": X.tolist()})[0] == 200
        assert call(server, "GET", "/v2/models/forest")[0] == 404
        after = scrape()
        assert len(list(tmp_path.glob("counter_*.db"))) == 2  # both workers counted
        infer = dict(route="infer", model="quantized", protocol="oip", status="200")
        assert metric(after, "housing_requests_total", **infer) - metric(
            before, "housing_requests_total", **infer) == 40
        assert metric(after, "housing_requests_total", route="invocations", model="quantized",
                      protocol="mlflow", status="200") == 5
        assert metric(after, "housing_requests_total", route="metadata", model="",
                      status="404") == 1
        assert metric(after, "housing_rows_predicted_total", model="quantized") == 135
        assert metric(after, "housing_rows_outside_training_range_total",
                      model="quantized") == 45
        assert metric(after, "housing_request_duration_seconds_count", route="infer") == 40
        assert metric(after, "housing_requests_in_flight") == 1  # the scrape itself
        assert metric(after, "process_resident_memory_bytes") > 0
        # a worker killed and replaced: its counts stay, nothing goes backwards
        worker = int(open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()[0])
        os.kill(worker, signal.SIGKILL)
        time.sleep(1)
        assert metric(scrape(), "housing_requests_total", **infer) == metric(
            after, "housing_requests_total", **infer)
    finally:
        assert stop(proc)[0] == 0


def listening(port):
    """How many sockets listen on ``port``, from the kernel's table (state 0A)."""
    with open("/proc/net/tcp") as f:
        return sum(int(row[1].split(":")[1], 16) == port and row[3] == "0A"
                   for row in (line.split() for line in list(f)[1:]))


def test_each_worker_listens_on_a_socket_of_its_own(built):
    # reuse_port: the kernel spreads new connections over the workers' sockets, rather
    # than whichever worker wakes first taking them from one shared socket
    port = free_port()
    proc = start(built, port, "--workers", "2")
    try:
        deadline = time.monotonic() + 15
        while listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listening(port) == 2
    finally:
        assert stop(proc)[0] == 0


def answered(port, timeout=5):
    """The status line a new client gets for GET /ping within ``timeout`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        return s.recv(4096).split(b"\r\n")[0].decode()


def test_slow_and_stalled_clients_never_keep_a_new_one_waiting(built):
    port = free_port()
    proc = start(built, port, "--workers", "2")
    try:
        with slow_clients(port, json.dumps(infer_body()).encode()) as trickle:
            for _ in range(3):
                trickle()
                assert answered(port) == "HTTP/1.1 200 OK"
                time.sleep(0.5)
    finally:
        status, _, err = stop(proc)
    assert status == 0 and "Traceback" not in err, err


def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive(built):
    port = free_port()
    proc = start(built, port, "--keepalive", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
            assert s.recv(4096) == b""  # closed by the server, within the socket's 10 s
    finally:
        assert stop(proc)[0] == 0


def test_a_path_cannot_forge_a_log_line(built):
    port = free_port()
    proc = start(built, port)
    call((f"127.0.0.1:{port}",), "GET", "/x%0AGET%20/v2%20200%200%200.01ms%1b[2J")
    out = stop(proc)[1]
    line = out.splitlines()[-2]  # the last is the worker's stop line
    time_, client, request_id, *fields = line.split(" ")
    # one field for the path, its spaces escaped too: a log parser splits on spaces
    assert fields[:4] == ["GET", "/x\\nGET\\u0020/v2\\u0020200\\u00200\\u00200.01ms\\u001b[2J",
                          "404", "0"]
    assert len(fields) == 5


def test_a_request_id_cannot_forge_a_log_line(built):
    port = free_port()
    proc = start(built, port)
    status, _, headers = call((f"127.0.0.1:{port}",), "GET", "/version",
                              headers={"X-Request-ID": "abc GET /v2 200"})
    out = stop(proc)[1]
    line = out.splitlines()[-2]
    request_id = line.split(" ")[2]
    assert status == 200
    assert request_id == headers["x-request-id"] != "abc"  # a new id, not the client's
    assert re.fullmatch(r"[0-9a-f]{20}", request_id)
    assert len(line.split(" ")) == 8


@pytest.mark.parametrize("argv, env, message", [
    (["--port", "70000"], {}, "argument --port: expected a port, 1 to 65535, got '70000' "
                              "(see --help)"),
    ([], {"HOUSING_BODY_TIMEOUT": "soon"}, "HOUSING_BODY_TIMEOUT: expected seconds, above 0 "
                                           "and at most 86400, got 'soon'"),
    ([], {"HOUSING_MAX_BODY": "-1"}, "HOUSING_MAX_BODY: expected a whole number of at least "
                                     "1, got '-1'"),
    (["--body-timeout", "nan"], {}, "argument --body-timeout: expected seconds, above 0 and "
                                    "at most 86400, got 'nan' (see --help)"),
])
def test_bad_settings_stop_start_up_with_one_line(built, argv, env, message):
    run = subprocess.run([sys.executable, "-m", "housing", "serve", *argv, "--model",
                          f"float={built['float']}", "--default", "float"], capture_output=True,
                         text=True, cwd=ROOT, timeout=30, env=dict(plain_env(), **env))
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"housing serve: error: "
                                                               f"{message}\n")


def test_a_flag_wins_over_the_environment(built):
    port = free_port()
    proc = start(built, port, "--max-body", "100", env={"HOUSING_MAX_BODY": "100000"})
    try:
        status, out, _ = call((f"127.0.0.1:{port}",), "POST", "/invocations", "x" * 101,
                              "text/csv")
        assert (status, out) == (413, {"error_code": "BAD_REQUEST", "message": "a body of 101 "
                                       "bytes; the limit is 100 (--max-body)"})
    finally:
        assert stop(proc)[0] == 0


def test_a_bad_model_file_stops_start_up_with_one_line(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_text("not a model")
    run = subprocess.run([sys.executable, "-m", "housing", "serve", "--port", str(free_port()),
                          "--model", f"float={bad}"], capture_output=True, text=True, cwd=ROOT,
                         timeout=30)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == (f"housing serve: error: {bad}: not an .npz file (pickle or unknown "
                          f"format); expected a model\n")


def test_a_port_in_use_is_one_line(built):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "housing", "serve", "--port", str(port),
                              "--model", f"float={built['float']}", "--default", "float"],
                             capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert run.returncode == 2 and run.stderr == (
        f"housing serve: error: 127.0.0.1:{port}: cannot listen (Address already in use); "
        f"choose another --port (PORT= for make serve)\n")


TRITON = """
import sys
import numpy as np
import tritonclient.http as http
client = http.InferenceServerClient(sys.argv[1])
assert client.is_server_live() and client.is_server_ready()
assert client.is_model_ready("quantized")
meta = client.get_model_metadata("quantized")
X = np.array(json.loads(sys.argv[2]))
inp = http.InferInput("features", list(X.shape), "FP64")
inp.set_data_from_numpy(X, binary_data=False)
out = http.InferRequestedOutput("MedHouseVal", binary_data=False)
result = client.infer("quantized", [inp], outputs=[out], request_id="t1")
print(json.dumps({"y": result.as_numpy("MedHouseVal").tolist(), "meta": meta,
                  "id": result.get_response()["id"]}))
"""


KSERVE = """
import asyncio
import sys
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
async def main(base):
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=10))
    assert await client.is_server_live(base) and await client.is_server_ready(base)
    assert await client.is_model_ready(base, "quantized")
    def request(X):
        inp = InferInput(name="features", shape=list(X.shape), datatype="FP64")
        inp.set_data_from_numpy(X, binary_data=False)
        return InferRequest(model_name="quantized", infer_inputs=[inp], request_id="k1")
    X = np.array(json.loads(sys.argv[2]))
    result = await client.infer(base, request(X), model_name="quantized")
    try:
        await client.infer(base, request(X[:, :7]), model_name="quantized")
    except Exception as e:  # httpx's HTTPStatusError: our message, then httpx's
        refused = str(e)
    print(json.dumps({"y": result.outputs[0].as_numpy().tolist(), "id": result.id,
                      "name": result.outputs[0].name, "refused": refused}))
    await client.close()
asyncio.run(main("http://" + sys.argv[1]))
"""


def installed(module):
    if not CLIENTS.exists():
        return False
    return subprocess.run([CLIENTS, "-c", f"import {module}"], capture_output=True).returncode == 0


def run_client(script, server):
    run = subprocess.run([CLIENTS, "-c", "import json\n" + script, server[0],
                          json.dumps(ROWS.tolist())], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.skipif(not installed("tritonclient.http"),
                    reason="tritonclient is not installed: make clients")
def test_tritonclient_works_unchanged(server, built):
    result = run_client(TRITON, server)
    assert result["id"] == "t1" and result["meta"]["name"] == "quantized"
    assert result["y"] == cli(built, "quantized")


@pytest.mark.skipif(not installed("kserve"), reason="kserve is not installed: make clients")
def test_kserve_rest_client_works_unchanged(server, built):
    result = run_client(KSERVE, server)
    assert (result["id"], result["name"]) == ("k1", "MedHouseVal")
    assert result["y"] == cli(built, "quantized")
    assert result["refused"].startswith(
        "input 'features': expected shape [n, 8] (the features in the model's order: "
        "MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude), "
        "got [3, 7], '400 Bad Request' for url ")


# --- each protocol as its clients speak it by default ---------------------------------

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


def binary_response(data, headers):
    n = int(headers["Inference-Header-Content-Length"])
    head = json.loads(data[:n])
    return head, np.frombuffer(data[n:], "<f8")


@pytest.mark.parametrize("datatype", ["FP64", "FP32", "INT64", "INT32"])
def test_binary_tensor_data_in_and_out(server, built, datatype):
    X = ROWS.astype(np.float32) if datatype == "FP32" else (
        np.round(ROWS) if datatype.startswith("INT") else ROWS)
    body, headers = binary_request(X, datatype)
    status, data, h = exchange(server, "POST", "/v2/models/quantized/infer", body, headers)
    head, y = binary_response(data, h)
    assert (status, h["Content-Type"]) == (200, "application/octet-stream")
    assert head["outputs"] == [{"name": "MedHouseVal", "datatype": "FP64", "shape": [3],
                                "parameters": {"binary_data_size": 24}}]
    assert y.tolist() == cli(built, "quantized", X.astype(np.float64))


@pytest.mark.parametrize("change, message", [
    (lambda h: h.replace(b'"binary_data_size": 192', b'"binary_data_size": 191'),
     "input 'features': shape [3, 8] of FP64 takes 192 binary bytes, and no 'data'; got "
     "'binary_data_size' 191"),
    (lambda h: h.replace(b'"shape": [3, 8]', b'"shape": [300000, 8]'),
     "input 'features': shape [300000, 8] of FP64 takes 19200000 binary bytes, and no 'data'; "
     "got 'binary_data_size' 192"),
])
def test_binary_sizes_are_checked_against_the_shape_before_reading(server, change, message):
    body, headers = binary_request(ROWS, "FP64", outputs=False)
    n = int(headers["Inference-Header-Content-Length"])
    head = change(body[:n])
    headers["Inference-Header-Content-Length"] = str(len(head))
    status, data, _ = exchange(server, "POST", "/v2/models/quantized/infer", head + body[n:], headers)
    assert (status, json.loads(data)) == (400, {"error": message})


def test_binary_nan_and_a_short_body_are_refused(server):
    X = ROWS.copy()
    X[1, 2] = np.nan
    body, headers = binary_request(X, "FP64", outputs=False)
    status, data, _ = exchange(server, "POST", "/v2/models/quantized/infer", body, headers)
    assert (status, json.loads(data)) == (400, {"error": "input 'features', row 2, column "
                                                "'AveRooms': expected a finite number (FP64), "
                                                "got nan"})
    status, data, _ = exchange(server, "POST", "/v2/models/quantized/infer", body[:-8], headers)
    assert status == 400 and json.loads(data)["error"] == (
        "input 'features': 'binary_data_size' should be a byte count of at most the 184 "
        "binary bytes left, got 192")


def test_versions_are_the_model_files_and_every_route_takes_them(server, built):
    import hashlib
    version = hashlib.sha256(built["quantized"].read_bytes()).hexdigest()[:12]
    assert call(server, "GET", "/v2/models/quantized")[1]["versions"] == [version]
    base = f"/v2/models/quantized/versions/{version}"
    assert call(server, "GET", base)[1]["versions"] == [version]
    assert call(server, "GET", base + "/ready")[:2] == (200, {"name": "quantized", "ready": True})
    status, out, _ = call(server, "POST", base + "/infer", infer_body())
    assert status == 200 and out["outputs"][0]["data"] == cli(built, "quantized")
    assert call(server, "GET", "/v2/models/quantized/versions/1/ready")[:2] == (404, {
        "error": f"model 'quantized' has no version '1'; it serves version {version}"})


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_compressed_requests_and_responses(server, built, encoding, compress):
    body = compress(json.dumps(infer_body()).encode())
    status, data, h = exchange(server, "POST", "/v2/models/float/infer", body, {
        "Content-Type": "application/json", "Content-Encoding": encoding})
    assert status == 200 and json.loads(data)["outputs"][0]["data"] == cli(built, "float")
    # a large answer is gzipped for a client that takes it, and only then
    X = np.tile(ROWS, (100, 1))
    request = json.dumps({"inputs": [{"name": "x", "shape": [300, 8], "datatype": "FP64",
                                      "data": X.ravel().tolist()}]}).encode()
    status, data, h = exchange(server, "POST", "/v2/models/float/infer", request,
                          {"Accept-Encoding": "gzip, deflate"})
    assert (status, h["Content-Encoding"]) == (200, "gzip")
    assert json.loads(gzip.decompress(data))["outputs"][0]["data"] == cli(built, "float", X)
    assert "Content-Encoding" not in exchange(server, "POST", "/v2/models/float/infer", request)[2]


def test_a_compression_bomb_is_refused_without_expanding_it(built):
    port = free_port()
    proc = start(built, port, "--max-body", "100000")
    try:
        bomb = gzip.compress(b" " * 50_000_000)  # 48 kB that would expand to 50 MB
        status, data, _ = exchange((f"127.0.0.1:{port}",), "POST", "/v2/models/float/infer", bomb,
                              {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert (status, json.loads(data)) == (413, {"error": "a body over 100,000 bytes once "
                                                             "decompressed (--max-body)"})
        status, data, _ = exchange((f"127.0.0.1:{port}",), "POST", "/v2/models/float/infer", b"{}",
                              {"Content-Type": "application/json", "Content-Encoding": "br"})
        assert (status, json.loads(data)) == (415, {"error": "Content-Encoding 'br' is not "
                                                    "accepted; expected gzip, deflate or none"})
    finally:
        assert stop(proc)[0] == 0


def test_sagemaker_csv_with_and_without_a_header_and_each_accept(server, built):
    bare = "\n".join(",".join(map(repr, r)) for r in ROWS.tolist()) + "\n"
    headed = ",".join(FEATURES) + "\n" + bare
    want = cli(built, "quantized")
    for body in (bare, headed):
        status, data, h = exchange(server, "POST", "/invocations", body.encode(),
                              {"Content-Type": "text/csv", "Accept": "text/csv"})
        assert (status, h["Content-Type"]) == (200, "text/csv")
        assert data.decode() == "".join(f"{v!r}\n" for v in want)
    status, data, h = exchange(server, "POST", "/invocations", bare.encode(),
                          {"Content-Type": "text/csv", "Accept": "application/jsonlines"})
    assert [json.loads(line) for line in data.decode().splitlines()] == [
        {"MedHouseVal": v} for v in want]
    status, data, h = exchange(server, "POST", "/invocations", bare.encode(),
                          {"Content-Type": "text/csv", "Accept": "*/*"})
    assert json.loads(data) == {"predictions": want}
    status, data, h = exchange(server, "POST", "/invocations", bare.encode(),
                          {"Content-Type": "text/csv", "Accept": "application/x-protobuf"})
    assert (status, json.loads(data)) == (406, {"error_code": "BAD_REQUEST", "message": (
        "Accept 'application/x-protobuf' cannot be answered here; expected application/json, "
        "text/csv or application/jsonlines")})


def test_mlflow_params_are_ignored_and_rows_outside_the_range_counted(server, built):
    X = ROWS.copy()
    X[2, 4] = 1e7  # Population above the training range
    body = {"dataframe_split": {"columns": list(FEATURES), "data": X.tolist()},
            "params": {"temperature": 0.5}}
    status, out, h = call(server, "POST", "/invocations", body)
    assert (status, out) == (200, {"predictions": cli(built, "quantized", X)})
    assert h["X-Rows-Outside-Training-Range"] == "1"
    status, out, _ = call(server, "POST", "/v2/models/quantized/infer", infer_body(
        data=X.tolist()))
    assert out["parameters"] == {"rows_outside_training_range": 1}


def test_per_feature_tensors_that_are_not_features_are_ignored_and_named(server, built):
    extra = [{"name": "MedHouseVal", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]},
             {"name": "index", "shape": [3], "datatype": "BYTES", "data": ["a", "b", "c"]}]
    status, out, _ = call(server, "POST", "/v2/models/quantized/infer",
                          {"inputs": TENSORS["per feature [n]"] + extra})
    assert status == 200 and out["outputs"][0]["data"] == cli(built, "quantized")
    assert out["parameters"]["ignored_inputs"] == ["MedHouseVal", "index"]


def test_head_and_options(server):
    status, data, h = exchange(server, "HEAD", "/v2/models/quantized")
    assert (status, data) == (200, b"") and int(h["Content-Length"]) > 100
    status, data, h = exchange(server, "OPTIONS", "/v2/models/quantized/infer")
    assert (status, data, h["Allow"]) == (200, b"", "POST, OPTIONS")
    assert exchange(server, "OPTIONS", "/nowhere")[0] == 404


def test_serve_strict_refuses_rows_outside_the_training_range(built):
    port = free_port()
    proc = start(built, port, env={"HOUSING_STRICT": "true"})
    try:
        X = ROWS.copy()
        X[0, 4] = 1e7
        model = store.load_model(built["float"])
        status, out, _ = call((f"127.0.0.1:{port}",), "POST", "/v2/models/float/infer",
                              infer_body(data=X.tolist()))
        assert (status, out) == (400, {"error": f"row 1, column 'Population': expected a "
                                                f"value within the training range, "
                                                f"{model.low[4]:g} to {model.high[4]:g}, got "
                                                f"1e+07"})
    finally:
        assert stop(proc)[0] == 0


TRITON_DEFAULTS = """
import sys
import numpy as np
import tritonclient.http as http
client = http.InferenceServerClient(sys.argv[1])
X = np.array(json.loads(sys.argv[2]))
version = client.get_model_metadata("quantized")["versions"][0]
out = {}
for datatype, kind in (("FP64", np.float64), ("FP32", np.float32), ("INT64", np.int64),
                       ("INT32", np.int32)):
    inp = http.InferInput("features", list(X.shape), datatype)
    inp.set_data_from_numpy(X.astype(kind))  # binary, tritonclient's default
    for algorithm in (None, "gzip", "deflate"):
        result = client.infer("quantized", [inp], model_version=version,
                              request_compression_algorithm=algorithm,
                              response_compression_algorithm=algorithm)
        out[f"{datatype} {algorithm}"] = result.as_numpy("MedHouseVal").tolist()
    result = client.infer("quantized", [inp], outputs=[http.InferRequestedOutput("MedHouseVal")])
    out[f"{datatype} output"] = result.as_numpy("MedHouseVal").tolist()
print(json.dumps(out))
"""

KSERVE_DEFAULTS = """
import asyncio
import sys
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
async def main(base):
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=10))
    X, out = np.array(json.loads(sys.argv[2])), {}
    for datatype, kind in (("FP64", np.float64), ("FP32", np.float32), ("INT64", np.int64),
                           ("INT32", np.int32)):
        inp = InferInput(name="features", shape=list(X.shape), datatype=datatype)
        inp.set_data_from_numpy(X.astype(kind))  # binary, KServe's default
        result = await client.infer(base, InferRequest(model_name="quantized",
                                                        infer_inputs=[inp]), model_name="quantized")
        out[datatype] = result.outputs[0].as_numpy().tolist()
    await client.close()
    print(json.dumps(out))
asyncio.run(main("http://" + sys.argv[1]))
"""

CASTS = {"FP64": np.float64, "FP32": np.float32, "INT64": np.int64, "INT32": np.int32}


@pytest.mark.skipif(not installed("tritonclient.http"),
                    reason="tritonclient is not installed: make clients")
def test_tritonclient_on_its_defaults_binary_compressed_and_versioned(server, built):
    result = run_client(TRITON_DEFAULTS, server)
    assert len(result) == 16
    for key, y in result.items():
        X = ROWS.astype(CASTS[key.split()[0]]).astype(np.float64)
        assert y == cli(built, "quantized", X), key


@pytest.mark.skipif(not installed("kserve"), reason="kserve is not installed: make clients")
def test_kserve_client_on_its_defaults_binary(server, built):
    result = run_client(KSERVE_DEFAULTS, server)
    assert {k: y == cli(built, "quantized", ROWS.astype(CASTS[k]).astype(np.float64))
            for k, y in result.items()} == dict.fromkeys(CASTS, True)


CODECS = ROOT / ".venv-codecs" / "bin" / "python"
ENCODE = """
import json
import sys
import numpy as np
import pandas as pd
from mlflow.models import convert_input_example_to_serving_input
from mlserver.codecs import NumpyRequestCodec, PandasCodec
X, names = np.array(json.loads(sys.argv[1])), json.loads(sys.argv[2])
df = pd.DataFrame(X, columns=names).assign(MedHouseVal=[1.5, 2.5, 3.5])
def dump(request):
    return request.model_dump(mode="json", exclude_none=True)
print(json.dumps({
    "PandasCodec": dump(PandasCodec.encode_request(df)),
    "PandasCodec, index": dump(PandasCodec.encode_request(df.reset_index())),
    "NumpyRequestCodec": dump(NumpyRequestCodec.encode_request(X)),
    "mlflow": json.loads(convert_input_example_to_serving_input(df)),
    "mlflow, params": json.loads(convert_input_example_to_serving_input((df, {"k": 1}))),
}))
"""


@pytest.mark.skipif(not CODECS.exists(), reason="MLServer's codecs are not installed: make clients")
def test_mlserver_codecs_and_mlflows_serving_input_helper(server, built):
    run = subprocess.run([CODECS, "-c", ENCODE, json.dumps(ROWS.tolist()),
                          json.dumps(list(FEATURES))], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    bodies, want = json.loads(run.stdout), cli(built, "quantized")
    for name in ("PandasCodec", "PandasCodec, index", "NumpyRequestCodec"):
        status, out, _ = call(server, "POST", "/v2/models/quantized/infer", bodies[name])
        assert (status, out["outputs"][0]["data"]) == (200, want), name
    assert out["parameters"].get("ignored_inputs") is None
    status, out, _ = call(server, "POST", "/v2/models/quantized/infer", bodies["PandasCodec, index"])
    assert out["parameters"]["ignored_inputs"] == ["index", "MedHouseVal"]
    for name in ("mlflow", "mlflow, params"):
        assert call(server, "POST", "/invocations", bodies[name])[:2] == (
            200, {"predictions": want}), name


VALIDATE = """
import sys
from jsonschema import Draft202012Validator
doc, answers = json.loads(open(sys.argv[1]).read()), json.loads(open(sys.argv[2]).read())
wrong = []
for method, template, status, kind, body in answers:
    responses = doc["paths"][template][method.lower()]["responses"]
    if str(status) not in responses:
        wrong.append(f"{method} {template}: status {status} is not described")
        continue
    described = responses[str(status)]
    if "$ref" in described:
        described = doc["components"]["responses"][described["$ref"].split("/")[-1]]
    if kind not in described["content"]:
        wrong.append(f"{method} {template} {status}: content type {kind} is not described")
        continue
    if kind == "application/json":
        schema = dict(described["content"][kind]["schema"], components=doc["components"])
        for error in Draft202012Validator(schema).iter_errors(body):
            wrong.append(f"{method} {template} {status}: {error.message}")
print(json.dumps(wrong))
"""


@pytest.mark.skipif(not installed("jsonschema"), reason="jsonschema is not installed: make clients")
def test_every_route_answers_as_the_openapi_description_says(server, built, tmp_path):
    status, doc, _ = call(server, "GET", "/openapi.json")
    assert status == 200 and call(server, "GET", "/v2/docs/dataplane.json")[1] == doc
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"] == call(server, "GET", "/version")[1]["version"]
    version = call(server, "GET", "/v2/models/quantized")[1]["versions"][0]
    csv = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in ROWS.tolist())
    requests = [(template, "GET", template, None, {}) for template in doc["paths"]
                if "get" in doc["paths"][template] and "{" not in template]
    for m in ("quantized", "forest"):
        for v in ("", f"/versions/{version}", "/versions/x"):
            base = f"/v2/models/{m}{v}"
            template = "/v2/models/{model}" + ("/versions/{version}" if v else "")
            requests += [(template, "GET", base, None, {}),
                         (template + "/ready", "GET", base + "/ready", None, {}),
                         (template + "/infer", "POST", base + "/infer", infer_body(), {})]
    requests += [
        ("/v2/models/{model}/infer", "POST", "/v2/models/float/infer", {"inputs": []}, {}),
        ("/v2/models/{model}/infer", "POST", "/v2/models/float/infer", "{", {}),
        ("/v2/models/{model}/infer", "POST", "/v2/models/float/infer", "x",
         {"Content-Type": "text/plain"}),
        ("/v2/models/{model}/infer", "POST", "/v2/models/float/infer", *binary_request(
            ROWS, "FP64", outputs=False)),
        ("/invocations", "POST", "/invocations", {"instances": ROWS.tolist()}, {}),
        ("/invocations", "POST", "/invocations", csv, {"Content-Type": "text/csv"}),
        ("/invocations", "POST", "/invocations", csv, {"Content-Type": "text/csv",
                                                        "Accept": "text/csv"}),
        ("/invocations", "POST", "/invocations", csv, {"Content-Type": "text/csv",
                                                        "Accept": "application/jsonlines"}),
        ("/invocations", "POST", "/invocations", csv, {"Content-Type": "text/csv",
                                                        "Accept": "image/png"}),
        ("/invocations", "POST", "/invocations", {"rows": 1}, {}),
        ("/invocations", "POST", "/invocations", "x", {"Content-Type": "text/plain"}),
    ]
    answers = []
    for template, method, path, body, headers in requests:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        headers = {"Content-Type": "application/json", **headers} if body is not None else {}
        status, data, h = exchange(server, method, path, body.encode() if isinstance(body, str)
                                   else body or b"", headers)
        kind = h["Content-Type"].split(";")[0]
        answers.append((method, template, status, kind,
                        json.loads(data) if kind == "application/json" else None))
    assert {status for *_, status, _, _ in answers} >= {200, 400, 404, 406, 415}
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    run = subprocess.run([CLIENTS, "-c", "import json\n" + VALIDATE, tmp_path / "doc.json",
                          tmp_path / "answers.json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
