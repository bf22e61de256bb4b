"""Requests and inputs found by a hostile pass: each is one clear 4xx or one line, never a
500, a traceback, a wrong answer or a stalled server. The ASGI app runs in this process."""
import gzip
import io
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from housing import readers
from housing.config import FEATURES
from housing.readers import jsonlines
from housing.model import predict
from housing.serving.app import INLINE, App
from housing.serving.log import AccessLog
from housing.serving.metrics import Metrics, folder
from housing.serving.served import Served
from helpers import ROWS, formula, run_predict
from serving import asgi, in_process_app
from tools import smoke_client

CSV = (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in ROWS.tolist())
       + "\n").encode()


@pytest.fixture
def log():
    return io.StringIO()


@pytest.fixture
def app(built, log):
    return in_process_app(built, log)


def infer_body(X=ROWS):
    return json.dumps({"inputs": [{"name": "features", "datatype": "FP64",
                                   "shape": list(X.shape), "data": X.ravel().tolist()}]}).encode()


JSON = [("Content-Type", "application/json")]


def test_every_gzip_member_of_a_body_is_read(app, built):
    body = gzip.compress(infer_body(ROWS[:1])) + gzip.compress(b"")
    assert asgi(app, "POST", "/v2/models/float/infer", body,
                JSON + [("Content-Encoding", "gzip")]).status == 200
    two = gzip.compress(CSV[:CSV.index(b"\n", CSV.index(b"\n") + 1) + 1]) + gzip.compress(
        CSV[CSV.index(b"\n", CSV.index(b"\n") + 1) + 1:])
    answer = asgi(app, "POST", "/invocations", two,
                  [("Content-Type", "text/csv"), ("Content-Encoding", "gzip")])
    assert answer.status == 200
    np.testing.assert_allclose(answer.json["predictions"], formula(built["quantized"]),
                               rtol=1e-12)


@pytest.mark.parametrize("encoding, compress", [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_bytes_after_a_compressed_stream_are_refused(app, encoding, compress):
    answer = asgi(app, "POST", "/v2/models/float/infer", compress(infer_body()) + b"junk",
                  JSON + [("Content-Encoding", encoding)])
    assert (answer.status, answer.json) == (400, {
        "error": f"request body: 4 bytes after the end of the {encoding} data"})


@pytest.mark.parametrize("path", ["/pingXYZ", "/openapi.jsonEVIL", "/v2/health/liveX",
                                  "/versionx", "/v2/models/float/readyX"])
def test_routes_match_the_whole_path(app, path):
    answer = asgi(app, "GET", path)
    assert answer.status == 404
    assert answer.json["error"].startswith(f"no such path {path!r}; expected /")


@pytest.mark.parametrize("length", ["²", "1" * 5000, "-1", " 12"])
def test_a_binary_header_length_that_is_not_ascii_digits_is_a_400(app, length):
    answer = asgi(app, "POST", "/v2/models/float/infer", infer_body(),
                  JSON + [("Inference-Header-Content-Length", length)])
    shown = repr(length if len(length) <= 40 else length[:37] + "...")
    assert (answer.status, answer.json) == (400, {
        "error": f"Inference-Header-Content-Length: expected the JSON header's length, at "
                 f"most the body's {len(infer_body())} bytes, got {shown}"})


def test_per_feature_parameters_of_the_wrong_type_are_a_400(app):
    inputs = [{"name": f, "datatype": "FP64", "shape": [1], "data": [float(v)]}
              for f, v in zip(FEATURES, ROWS[0])]
    inputs.append({"name": "extra", "datatype": "FP64", "shape": [1], "data": [1.0],
                   "parameters": "binary"})
    answer = asgi(app, "POST", "/v2/models/float/infer", json.dumps({"inputs": inputs}).encode(),
                  JSON)
    assert (answer.status, answer.json) == (400, {
        "error": "input 'extra': expected 'parameters', an object, got a string"})
    inputs[0]["parameters"] = "x"
    answer = asgi(app, "POST", "/v2/models/float/infer",
                  json.dumps({"inputs": inputs[:-1]}).encode(), JSON)
    assert (answer.status, answer.json) == (400, {
        "error": "input 'MedInc': expected 'parameters', an object, got a string"})


def test_the_suggestion_search_is_bounded(built):
    served = Served.load([f"float={built['float']}"], "float")
    app = App(served, AccessLog(io.StringIO()), max_body=16 << 20, body_timeout=5)
    names = [f"column{i}" for i in range(800_000)]  # a 10 MB body: difflib took 30 s on it
    body = json.dumps({"dataframe_split": {"columns": names, "data": [[0] * len(names)]}})
    answer = asgi(app, "POST", "/invocations", body.encode(), JSON)
    assert answer.status == 400
    assert answer.json["message"] == (
        "request body, 'columns': missing columns MedInc, HouseAge, AveRooms, AveBedrms, "
        "Population, AveOccup, Latitude, Longitude; expected MedInc, HouseAge, AveRooms, "
        "AveBedrms, Population, AveOccup, Latitude, Longitude")


def test_a_near_miss_is_still_suggested_among_many_names(app):
    names = ["MedIncome"] + [f"x{i}" for i in range(100_000)]
    with pytest.raises(readers.UserError) as e:
        readers.read(io.BytesIO(",".join(names).encode() + b"\n"), FEATURES, "t.csv")
    assert str(e.value).startswith("t.csv, line 1: missing columns MedInc, HouseAge")
    assert "'MedIncome' looks like MedInc" in str(e.value)


@pytest.mark.parametrize("line", ['{"MedInc": 1}],[{"MedInc": 2}', '1],[2'])
def test_json_lines_holding_a_bracket_pair_stay_one_row_a_line(line):
    nos, items = jsonlines.parse_lines([line, '{"a": 1}'], 1, lambda no: f"line {no}")
    assert list(nos) == [1, 2]
    assert isinstance(items[0], str)  # a NotJson: this line alone does not parse
    assert items[1] == {"a": 1}


def test_json_lines_holding_a_bracket_pair_fail_that_row_in_predict(capsys, monkeypatch, built):
    good = json.dumps(dict(zip(FEATURES, ROWS[0].tolist())))
    text = f"{good}\n{good}],[{good}\n{good}\n"
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode(),
                               "--skip-invalid")
    assert rc == 1
    assert out.split("\n")[1] == ""  # the bad line keeps its place, empty
    assert len(out.splitlines()) == 3
    assert "<stdin>, line 2: not valid JSON (Extra data at column" in err


def test_a_request_id_with_spaces_is_replaced(app, log):
    answer = asgi(app, "GET", "/version", headers=[("X-Request-ID", "a b 200")])
    app.flush()
    assert answer.headers[b"x-request-id"] != b"a b 200"
    assert len(log.getvalue().split(" ")) == 8


class Closed(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        raise io.UnsupportedOperation("no file")


def test_a_log_that_cannot_be_written_is_said_once_and_serving_goes_on(built, capsys):
    served = Served.load([f"float={built['float']}"], "float")
    app = App(served, AccessLog(Closed()), max_body=1 << 20, body_timeout=5)
    for _ in range(3):
        assert asgi(app, "GET", "/version").status == 200
        app.flush()
    assert capsys.readouterr().err == ("housing serve: the log cannot be written (Broken "
                                       "pipe); logging stops, serving goes on\n")
    assert app.log.pending == []


@pytest.mark.parametrize("run", ["first", "second"])  # a process may make two Metrics
def test_a_deleted_metrics_folder_is_a_503_and_one_line(built, tmp_path, capsys, run):
    path = folder(str(tmp_path / "metrics"))
    metrics = Metrics(path)
    served = Served.load([f"float={built['float']}"], "float")
    app = App(served, AccessLog(io.StringIO()), max_body=1 << 20, body_timeout=5,
              metrics=metrics)
    assert asgi(app, "GET", "/metrics").status == 200
    for name in (tmp_path / "metrics").iterdir():
        name.unlink()
    (tmp_path / "metrics").rmdir()
    answer = asgi(app, "GET", "/metrics")
    assert (answer.status, answer.json) == (503, {
        "error": f"{path}: the metrics folder cannot be read; metrics have stopped"})
    assert asgi(app, "GET", "/version").status == 200


def test_a_metrics_folder_that_cannot_be_written_is_refused_at_start():
    with pytest.raises(readers.UserError) as e:
        folder("/proc/self")
    assert str(e.value) == ("/proc/self: the metrics folder is not writable; give a writable "
                            "--metrics-dir (a tmpfs in a read-only container)")


def test_the_client_reads_an_mlflow_error_body():
    assert smoke_client.refusal(b'{"error_code": "BAD_REQUEST", "message": "no"}') == "no"
    assert smoke_client.refusal(b'{"error": "no"}') == "no"
    assert smoke_client.refusal(b"<html>") == "'<html>'"


def test_an_unknown_path_under_v2_names_the_routes_there(app):
    answer = asgi(app, "GET", "/v2/modelz")
    assert (answer.status, answer.json) == (404, {"error": (
        "no such path '/v2/modelz'; expected /v2/docs/dataplane.json, /v2/health/live, "
        "/v2/health/ready, /v2/models/{model}[/versions/{version}], "
        "/v2/models/{model}[/versions/{version}]/config, "
        "/v2/models/{model}[/versions/{version}]/infer, "
        "/v2/models/{model}[/versions/{version}]/ready, "
        "/v2/models/{model}[/versions/{version}]/stats, /v2/repository/index")})


@pytest.mark.parametrize("literal, shown", [
    ("1e400", "'1e400'"), ("-2.5E+999", "'-2.5E+999'"), ("1" * 30 + "e300", "'" + "1" * 30 + "e300'"),
    ("9" * 400 + ".5", "a number beyond float64's range")])
def test_a_json_number_that_overflows_is_quoted_as_sent(app, literal, shown):
    body = infer_body().replace(b"8.3252", literal.encode(), 1)
    answer = asgi(app, "POST", "/v2/models/float/infer", body, JSON)
    assert (answer.status, answer.json) == (400, {
        "error": f"input 'features', row 1, column 'MedInc': {shown} overflows to infinity"})


def folder_refusal(path):
    with pytest.raises(readers.UserError) as e:
        folder(str(path))
    return str(e.value)


def test_a_metrics_folder_others_may_write_gets_a_private_one_inside(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as docker run --tmpfs makes it
    path = Path(folder(str(shared)))
    assert path.parent == shared and path.stat().st_mode & 0o777 == 0o700
    assert folder(str(path)) == str(path)  # a private folder is used as it is


def test_a_metrics_folder_holding_what_is_not_counts_is_refused(tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "counter_4242.db").symlink_to(tmp_path / "elsewhere")
    assert folder_refusal(planted) == (
        f"{planted}: the metrics folder holds 'counter_4242.db', which is not a plain file; "
        f"give an empty --metrics-dir")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "counter_4242.db").write_bytes(b"")
    with pytest.raises(readers.UserError) as e:
        Metrics(folder(str(garbage)))
    assert str(e.value) == (
        f"{garbage}: the metrics folder holds files that are not prometheus-client's; give "
        f"an empty --metrics-dir")


def test_files_planted_after_start_and_a_deleted_folder_are_503s_on_every_route_that_reads_them(
        built, tmp_path):
    for damage in ("garbage", "deleted"):
        path = folder(str(tmp_path / damage))
        served = Served.load([f"float={built['float']}"], "float")
        app = App(served, AccessLog(io.StringIO()), max_body=1 << 20, body_timeout=5,
                  metrics=Metrics(path))
        assert asgi(app, "GET", "/v2/models/float/stats").status == 200
        if damage == "garbage":
            (tmp_path / damage / "counter_4242.db").write_bytes(b"\0" * 3)
        else:
            shutil.rmtree(tmp_path / damage)
        for route in ("/metrics", "/v2/models/float/stats"):
            answer = asgi(app, "GET", route)
            assert (answer.status, answer.json) == (503, {
                "error": f"{path}: the metrics folder cannot be read; metrics have stopped"})



def test_a_body_past_what_the_loop_parses_inline_gets_the_same_answers(built):
    """Bodies over app.INLINE are parsed in the worker's other thread, so the event loop
    answers the rest meanwhile: the same predictions, and the same refusals."""
    served = Served.load([f"float={built['float']}"], "float")
    app = App(served, AccessLog(io.StringIO()), max_body=8 << 20, body_timeout=5)
    X = np.tile(ROWS, (10_000, 1))
    body = json.dumps({"inputs": [{"name": "x", "shape": list(X.shape), "datatype": "FP64",
                                   "data": X.ravel().tolist()}]}).encode()
    assert len(body) > INLINE
    answer = asgi(app, "POST", "/v2/models/float/infer", body, JSON)
    assert answer.status == 200
    assert answer.json["outputs"][0]["data"] == predict(served.models["float"], X).tolist()
    bad = body.replace(b"-122.26]", b'"x"]')
    answer = asgi(app, "POST", "/v2/models/float/infer", bad, JSON)
    assert (answer.status, answer.json) == (400, {"error": (
        "input 'x', row 30000, column 'Longitude': expected a number (FP64), got 'x'")})
