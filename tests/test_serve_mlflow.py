"""MLflow's scoring protocol and SageMaker's conventions on /invocations, on a live server, with
MLServer's codecs and MLflow's helper building the requests."""
import json
import subprocess

import pytest

from housing.config import FEATURES, ROOT
from serving import RECORDS, ROWS, call, cli, exchange, infer_body



MLFLOW = {
    "dataframe_split": {"dataframe_split": {"columns": list(FEATURES), "index": [0, 1, 2],
                                            "data": ROWS.tolist()}},
    "dataframe_records": {"dataframe_records": [dict(r, MedHouseVal=1.0) for r in RECORDS]},
    "instances, records": {"instances": RECORDS},
    "instances, lists": {"instances": ROWS.tolist()},
    "inputs, columns": {"inputs": {f: ROWS[:, j].tolist() for j, f in enumerate(FEATURES)}},
}


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


def test_json_lines_bodies_are_read_by_the_readers_module(server, built):
    text = "".join(json.dumps(dict(zip(FEATURES, r))) + "\n" for r in ROWS.tolist())
    status, out, _ = call(server, "POST", "/invocations", text, "application/jsonlines")
    assert status == 200 and out["predictions"] == cli(built, "quantized")
    status, out, _ = call(server, "POST", "/invocations", text.replace("Latitude", "Lat"),
                          "application/jsonlines")
    assert (status, out) == (400, {"error_code": "BAD_REQUEST", "message": (
        "request body, line 1: missing column Latitude ('Lat' looks like Latitude); expected "
        "MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude")})


def test_invocations_takes_json_and_each_readers_format(server):
    """A format added to readers.FORMATS reaches /invocations by its media type."""
    from housing import readers
    status, out, _ = call(server, "POST", "/invocations", "x", "text/plain")
    kinds = ["application/json"] + [k for k in readers.MEDIA_TYPES if k != "application/json"]
    assert sorted(kinds) == ["application/json", "application/jsonlines", "text/csv"]
    assert (status, out["message"]) == (415, f"Content-Type 'text/plain' is not accepted "
                                             f"here; expected {' or '.join(kinds)}")
    status, document, _ = call(server, "GET", "/openapi.json")
    body = document["paths"]["/invocations"]["post"]["requestBody"]["content"]
    assert sorted(body) == sorted(kinds)


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
                          {"Content-Type": "text/csv",
                           "Accept": "text/csv;q=0, application/jsonlines;q=0.5"})
    assert (status, h["Content-Type"]) == (200, "application/jsonlines")  # q=0: not CSV
    status, data, h = exchange(server, "POST", "/invocations", bare.encode(),
                          {"Content-Type": "text/csv", "Accept": "application/x-protobuf"})
    assert (status, json.loads(data)) == (406, {"error_code": "NOT_IMPLEMENTED", "message": (
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
