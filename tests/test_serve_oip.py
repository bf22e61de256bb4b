"""The Open Inference Protocol, REST, on a live server: every tensor layout, datatypes, Triton's
binary tensor data, versions, and tritonclient's and KServe's clients on their defaults."""
import json
import subprocess

import numpy as np
import pytest

from housing import store
from serving import (CLIENTS, ROWS, TENSORS, binary_request, call, cli, exchange, formula,
                     infer_body, installed)



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


def run_client(script, server):
    run = subprocess.run([CLIENTS, "-c", "import json\n" + script, server[0],
                          json.dumps(ROWS.tolist())], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def binary_response(data, headers):
    n = int(headers["Inference-Header-Content-Length"])
    head = json.loads(data[:n])
    return head, np.frombuffer(data[n:], "<f8")


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
    with np.load(built["quantized"], allow_pickle=False) as f:
        stored = json.loads(f["meta"][()].decode())
    assert meta["parameters"]["method"] == model.quantization.method
    assert meta["parameters"]["bits"] == 8
    assert meta["parameters"]["training_ranges"] == stored["ranges"]
    for path in ("/ping", "/health"):
        assert call(server, "GET", path)[0] == 200
    from housing import __version__
    assert call(server, "GET", "/version")[:2] == (200, {"version": __version__})


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
    (lambda h: h.replace(b'"binary_data_size": 192', b'"binary_data_size": 192.0'),
     "input 'features': shape [3, 8] of FP64 takes 192 binary bytes, and no 'data'; got "
     "'binary_data_size' 192.0"),
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


def test_per_feature_tensors_that_are_not_features_are_ignored_and_named(server, built):
    extra = [{"name": "MedHouseVal", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]},
             {"name": "index", "shape": [3], "datatype": "BYTES", "data": ["a", "b", "c"]}]
    status, out, _ = call(server, "POST", "/v2/models/quantized/infer",
                          {"inputs": TENSORS["per feature [n]"] + extra})
    assert status == 200 and out["outputs"][0]["data"] == cli(built, "quantized")
    assert out["parameters"]["ignored_inputs"] == ["MedHouseVal", "index"]


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
