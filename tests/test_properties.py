"""Generated inputs (hypothesis) for the readers and both protocols: whatever arrives, the
only failure is the project's own one-line UserError (a 4xx over HTTP, never a 500, and
every response strict JSON); and valid rows get the same predictions by every route."""
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from housing import readers, store
from housing.readers import values as value_checks
from housing.cli import UserError
from housing.config import FEATURES
from serving import asgi as in_process, in_process_app

from helpers import run_predict

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
NAMES = st.sampled_from(FEATURES + ("features", "MedHouseVal", "")) | JSON
TENSOR = st.fixed_dictionaries(
    {}, optional={"name": NAMES, "datatype": st.sampled_from(readers.CHOICES + tuple(value_checks.LIMITS))
                  | JSON, "shape": st.lists(st.integers(-1, 9), max_size=3) | JSON,
                  "data": st.lists(st.floats(-1e6, 1e6) | st.integers(-10, 10) | JSON,
                                   max_size=24) | JSON, "parameters": JSON})
OIP = st.fixed_dictionaries({}, optional={"inputs": st.lists(TENSOR, max_size=3) | JSON,
                                          "id": JSON, "outputs": JSON, "parameters": JSON})
MLFLOW = st.dictionaries(st.sampled_from(("dataframe_split", "dataframe_records", "instances",
                                          "inputs", "params")),
                         st.fixed_dictionaries({}, optional={"columns": st.lists(NAMES),
                                                             "data": JSON}) | JSON, max_size=2)


def no_constants(name):
    raise AssertionError(f"a response holds {name}, which is not JSON")


def asgi(app, method, path, body=b"", content_type="application/json"):
    """(status, parsed JSON body) of one request to the ASGI app, in this process."""
    answer = in_process(app, method, path, body, [("Content-Type", content_type),
                                                  ("Content-Length", str(len(body)))])
    return answer.status, json.loads(answer.body, parse_constant=no_constants)


@pytest.fixture(scope="module")
def app(built):
    return in_process_app(built, io.StringIO())


def refused_cleanly(status, answer):
    assert status in (200, 400, 404, 405, 413, 415), answer
    if status != 200:  # /invocations in MLflow's shape
        assert list(answer) in (["error"], ["error_code", "message"]), answer
        assert "\n" not in answer.get("error", answer.get("message"))
    return status


@SETTINGS
@given(body=st.one_of(OIP.map(json.dumps), JSON.map(json.dumps), st.binary(max_size=200)))
def test_any_infer_body_is_answered_or_refused_in_one_line(app, body):
    refused_cleanly(*asgi(app, "POST", "/v2/models/float/infer",
                          body if isinstance(body, bytes) else body.encode()))


@SETTINGS
@given(body=st.one_of(MLFLOW.map(json.dumps), JSON.map(json.dumps)),
       content_type=st.sampled_from(("application/json", "text/csv")))
def test_any_invocations_body_is_answered_or_refused_in_one_line(app, body, content_type):
    refused_cleanly(*asgi(app, "POST", "/invocations", body.encode(), content_type))


CSV_BYTES = st.lists(st.sampled_from(
    list(FEATURES) + [",", "\n", "\r\n", '"', " ", "1", "-2.5", "1e400", "nan", "x", "\ufeff",
                      "\x00", "1_0", "\u0663", "{", "[", "}", "]", ":", "null"]),
    max_size=60).map(lambda parts: "".join(parts).encode())


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), CSV_BYTES, JSON.map(lambda v: json.dumps(v).encode())),
       fmt=st.sampled_from(readers.CHOICES))
def test_the_readers_raise_nothing_but_a_user_error(data, fmt):
    try:
        columns, chunks = readers.read(io.BytesIO(data), FEATURES, "<stdin>", fmt)
        for chunk in chunks:
            assert chunk.X.shape == (len(chunk.nos), len(FEATURES))
            assert np.isfinite(chunk.X).all()
    except UserError as e:
        assert "\n" not in str(e)


ROW = st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=8, max_size=8)


@SETTINGS
@given(X=st.lists(ROW, min_size=1, max_size=20).map(np.array))
def test_valid_rows_get_the_cli_s_predictions_by_every_route(capsys, monkeypatch, built, app,
                                                             X):
    text = ",".join(FEATURES) + "\n" + "".join(",".join(map(repr, r)) + "\n"
                                               for r in X.tolist())
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text.encode())
    assert rc == 0
    cli = [float(v) for v in out.split()]
    model = store.load_model(built["quantized"])
    np.testing.assert_allclose(cli, X @ model.coef + model.intercept, rtol=1e-9, atol=1e-9)
    records = "".join(json.dumps(dict(zip(FEATURES, r))) + "\n" for r in X.tolist())
    assert run_predict(capsys, monkeypatch, built["quantized"], records.encode())[1] == out
    infer = {"inputs": [{"name": "features", "shape": list(X.shape), "datatype": "FP64",
                         "data": X.tolist()}]}
    status, answer = asgi(app, "POST", "/v2/models/quantized/infer", json.dumps(infer).encode())
    assert (status, answer["outputs"][0]["data"]) == (200, cli)
    split = {"dataframe_split": {"columns": list(FEATURES), "data": X.tolist()}}
    assert asgi(app, "POST", "/invocations", json.dumps(split).encode()) == (
        200, {"predictions": cli})


EDGES = [s * (v + d) for s in (1, -1) for d in (-1, 0, 1) for v in (
    2 ** 31, 2 ** 63, 2 ** 1024, int(1.7976931348623157e308))] + [s * v for s in (1, -1) for v in (
        3.4028234663852886e38, 3.4028235677973366e38, 1.7976931348623157e308)]


def same_as_number_one_by_one(values, datatype):
    """values.numbers takes numpy's path for plain lists; rows.number, one value at a time, is
    the reference: the same floats, or the same first refusal."""
    def where(k):
        return f"element {k + 1}"
    try:
        expected = [value_checks.number(v, where(k), datatype) for k, v in enumerate(values)]
    except UserError as e:
        with pytest.raises(UserError) as got:
            value_checks.numbers(values, where, datatype)
        assert str(got.value) == str(e)
    else:
        assert value_checks.numbers(values, where, datatype).tolist() == expected


@pytest.mark.parametrize("datatype", value_checks.LIMITS)
@pytest.mark.parametrize("value", EDGES)
def test_numbers_fast_path_equals_number_at_each_range_edge(value, datatype):
    same_as_number_one_by_one([value], datatype)


@SETTINGS
@given(values=st.lists(st.sampled_from(EDGES) | st.integers() | st.booleans() | st.none()
                       | st.floats(allow_nan=False, allow_infinity=False), max_size=10),
       datatype=st.sampled_from(tuple(value_checks.LIMITS)))
def test_numbers_fast_path_equals_number_value_by_value(values, datatype):
    same_as_number_one_by_one(values, datatype)


@SETTINGS
@given(t=st.lists(st.lists(st.sampled_from((0.0, 1.0)) | st.floats(-0.02, 1.02), min_size=8,
                           max_size=8), min_size=1, max_size=40).map(np.array))
def test_rows_outside_counts_as_numpy_does(built, t):
    """The count of rows outside the training range, in Python floats for a few rows, is
    numpy's: a row with any feature below its low or above its high. ``t`` places each
    value in its feature's range: 0 at the low end, 1 at the high, exactly."""
    model = store.load_model(built["float"])
    X = np.where(t == 1, model.ranges.max, model.ranges.min + t * (model.ranges.max - model.ranges.min))
    expected = int(((X < model.ranges.min) | (X > model.ranges.max)).any(axis=1).sum())
    assert model.ranges.count_outside(X) == expected
