"""What the application core does for every protocol, on a live server: refusals and their
statuses, body limits and deadlines, compression, HEAD and OPTIONS, the OpenAPI description."""
import gzip
import http.client
import json
import socket
import subprocess
import time
import zlib

import numpy as np
import pytest

from housing.config import FEATURES
from housing.serving import openapi
from housing.serving.routes import table
from housing.serving.served import Served
from repo import free_port
from serving import (CLIENTS, HEAD, MAX_BODY, RECORDS, ROWS, TENSORS, binary_request, call,
                     cli, exchange, formula, infer_body, installed, raw, start, stop,
                     with_value)



BAD = {
    "malformed JSON": ("/v2/models/float/infer", '{"inputs": [', 400,
                       "request body: not valid JSON (Expecting value at column 13)"),
    # a byte-order mark is dropped; a bad byte after it is counted from the body's start
    "byte-order mark": ("/v2/models/float/infer", b'\xef\xbb\xbf{"inputs": [', 400,
                        "request body: not valid JSON (Expecting value at column 13)"),
    "bad byte after a byte-order mark": (
        "/v2/models/float/infer", b'\xef\xbb\xbf{"inputs": [\x83]}', 400,
        "request body: expected UTF-8 text, got byte 0x83 at position 16"),
    "a key twice": ("/v2/models/float/infer", '{"inputs": [], "inputs": []}', 400,
                    "request body: the key 'inputs' appears twice in one object; expected "
                    "each once"),
    "an empty body": ("/v2/models/float/infer", b"", 400,
                      "request body: empty; expected a JSON document"),
    "wrong shape": ("/v2/models/float/infer", infer_body(shape=[4, 8]), 400,
                    "input 'x': shape [4, 8] holds 32 values, 'data' has 24"),
    # nested, the rows must be the shape's: 7 and 9 values would move a row boundary
    "rows nested unlike the shape": (
        "/v2/models/float/infer", infer_body(shape=[2, 8], data=[
            ROWS[0, :7].tolist(), ROWS[0, 7:].tolist() + ROWS[1].tolist()]), 400,
        "input 'x': 'data' is not nested as shape [2, 8]: a list at depth 2 holds 7 items, "
        "expected 8; send it flat, or nested as the shape"),
    "rows of one shape, three deep": (
        "/v2/models/float/infer", infer_body(shape=[2, 8], data=[[[v] for v in r] for r in
                                                                  ROWS[:2].tolist()]), 400,
        "input 'x': 'data' is nested deeper than shape [2, 8]; send it flat, or nested as the "
        "shape"),
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
                     "no such path '/predict'; expected /v2/..., /invocations, /v1/..., /, "
                     "/ping, /health, /version, /metrics, /openapi.json"),
    "wrong method": ("/v2/health/ready", infer_body(), 405,
                     "POST is not allowed on /v2/health/ready; expected GET, HEAD"),
    "content type": ("/invocations", "a,b\n", 415,
                     "Content-Type 'text/plain' is not accepted here; expected application/json "
                     "or application/jsonlines or text/csv"),
}


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


VALIDATE = """
import sys
from jsonschema import Draft202012Validator
doc, answers = json.loads(open(sys.argv[1]).read()), json.loads(open(sys.argv[2]).read())
wrong = []
for method, template, status, kind, body in answers:
    if kind != "application/json":
        continue
    described = doc["paths"][template][method.lower()]["responses"][str(status)]
    for error in Draft202012Validator(described["content"][kind]["schema"]).iter_errors(body):
        wrong.append(f"{method} {template} {status}: {error.message}")
print(json.dumps(wrong))
"""


def test_a_10000_row_request(server, built):
    X = np.tile(ROWS, (3334, 1))[:10000]
    start_ = time.perf_counter()
    status, out, _ = call(server, "POST", "/v2/models/float/infer", {"inputs": [
        {"name": "x", "shape": [10000, 8], "datatype": "FP64", "data": X.tolist()}]})
    assert status == 200 and len(out["outputs"][0]["data"]) == 10000
    np.testing.assert_allclose(out["outputs"][0]["data"], formula(built, "float", X), rtol=1e-12)
    assert time.perf_counter() - start_ < 10  # a bound on hanging, not a speed figure


@pytest.mark.parametrize("case", BAD)
def test_bad_requests_get_the_status_and_the_cli_s_words(server, case):
    path, body, status, message = BAD[case]
    content_type = "text/plain" if case == "content type" else (
        "text/csv" if case == "mlflow csv text" else "application/json")
    got, out, headers = call(server, "POST", path, body, content_type)
    # /invocations answers in MLflow's shape, which MLflow's clients read
    # with MLflow's code for what the client must change (from mlflow.protos.databricks_pb2)
    code = {415: "INVALID_PARAMETER_VALUE", 413: "MAX_READ_SIZE_EXCEEDED"}.get(status,
                                                                              "BAD_REQUEST")
    shape = ({"error_code": code, "message": message} if path == "/invocations"
             else {"error": message})
    assert (got, out) == (status, shape)
    if status == 405:
        assert headers["Allow"] == "GET, HEAD, OPTIONS"


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
    for refused in ("gzip;q=0", "gzip; q=0.000, deflate", "gzip;Q = 0.0"):  # RFC 9110: q=0 is a no
        headers = exchange(server, "POST", "/v2/models/float/infer", request,
                           {"Accept-Encoding": refused})[2]
        assert "Content-Encoding" not in headers
    assert exchange(server, "POST", "/v2/models/float/infer", request,
                    {"Accept-Encoding": "gzip;q=0.001"})[2]["Content-Encoding"] == "gzip"


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


def test_head_and_options(server):
    status, data, h = exchange(server, "HEAD", "/v2/models/quantized")
    assert (status, data) == (200, b"") and int(h["Content-Length"]) > 100
    status, data, h = exchange(server, "OPTIONS", "/v2/models/quantized/infer")
    assert (status, data, h["Allow"]) == (200, b"", "POST, OPTIONS")
    assert exchange(server, "OPTIONS", "/nowhere")[0] == 404


def exercised(server):
    """(/openapi.json, and the (method, path template, status, media type, JSON body) of
    answers to requests good and bad on every route it describes)."""
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
                         (template + "/config", "GET", base + "/config", None, {}),
                         (template + "/stats", "GET", base + "/stats", None, {}),
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
        ("/v1/models/{model}", "GET", "/v1/models/float", None, {}),
        ("/v1/models/{model}", "GET", "/v1/models/forest", None, {}),
        ("/v1/models/{model}:predict", "POST", "/v1/models/float:predict",
         {"instances": ROWS.tolist()}, {}),
        ("/v1/models/{model}:predict", "POST", "/v1/models/float:predict", {"rows": 1}, {}),
        ("/v1/models/{model}:predict", "POST", "/v1/models/forest:predict", {"instances": []}, {}),
        ("/v2/models/{model}/config", "GET", "/v2/models/quantized/config", None, {}),
        ("/v2/models/{model}/config", "GET", "/v2/models/forest/config", None, {}),
        ("/v2/models/{model}/stats", "GET", "/v2/models/quantized/stats", None, {}),
        ("/v2/models/{model}/stats", "GET", "/v2/models/forest/stats", None, {}),
        ("/v2/repository/index", "POST", "/v2/repository/index", {}, {}),
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
    return doc, answers


def test_every_route_is_described_and_answers_only_as_described(server, built):
    doc, answers = exercised(server)
    served = Served.load([f"{k}={built[k]}" for k in ("float", "quantized")], "quantized")
    routes = {(path, route.method.lower()) for route in table(served, None)
              for path in openapi.expand(route.template)}
    described = {(path, method) for path, operations in doc["paths"].items()
                 for method in operations}
    assert described == routes
    assert {(template, method.lower()) for method, template, *_ in answers} == described
    wrong = []
    for method, template, status, kind, _ in answers:
        responses = doc["paths"][template][method.lower()]["responses"]
        if str(status) not in responses:
            wrong.append(f"{method} {template}: status {status} is not described")
        elif kind not in responses[str(status)]["content"]:
            wrong.append(f"{method} {template} {status}: content type {kind} is not described")
    assert wrong == []
    assert {status for *_, status, _, _ in answers} >= {200, 400, 404, 406, 415}


@pytest.mark.skipif(not installed("jsonschema"), reason="jsonschema is not installed: make clients")
def test_every_answer_s_body_is_valid_against_its_schema(server, tmp_path):
    doc, answers = exercised(server)
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    run = subprocess.run([CLIENTS, "-c", "import json\n" + VALIDATE, tmp_path / "doc.json",
                          tmp_path / "answers.json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


def whole_answer(server, request_line):
    """(status line, body) of one request sent as ``request_line`` and a Host header."""
    host, port = server[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request_line.encode() + b"\r\nHost: x\r\nContent-Length: 0\r\n"
                                           b"Connection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body.decode()


@pytest.mark.parametrize("request_line, status, body", [
    # routes match the target as sent: an encoded '/' does not reach infer
    ("POST /v2/models/float%2Finfer HTTP/1.1", "HTTP/1.1 405 Method Not Allowed",
     '{"error": "POST is not allowed on /v2/models/float%2Finfer; expected GET, HEAD"}'),
    ("GET /v2/models/float%2Finfer HTTP/1.1", "HTTP/1.1 404 Not Found",
     '{"error": "no model named \'float/infer\'; expected one of float, quantized"}'),
    # an absolute-form target is its path (RFC 9112: a server accepts it)
    ("GET http://localhost:8080/v2/health/ready HTTP/1.1", "HTTP/1.1 200 OK",
     '{"ready": true}'),
    ("OPTIONS * HTTP/1.1", "HTTP/1.1 200 OK", ""),
    ("CONNECT localhost:443 HTTP/1.1", "HTTP/1.1 405 Method Not Allowed",
     '{"error": "CONNECT localhost:443 is not served here; expected a path, as '
     '/v2/health/ready"}'),
])
def test_request_targets_as_sent(server, request_line, status, body):
    assert whole_answer(server, request_line) == (status, body)


def test_a_transfer_coding_other_than_chunked_is_refused(server):
    body = gzip.compress(json.dumps(infer_body()).encode())
    head = (b"POST /v2/models/float/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    host, port = server[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + chunked)
        data = b""
        while part := s.recv(65536):
            data += part
    assert data.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request"
    assert json.loads(data.partition(b"\r\n\r\n")[2]) == {"error": (
        "Transfer-Encoding 'gzip, chunked' is not accepted; expected chunked alone (a "
        "compressed body says so in Content-Encoding)")}
