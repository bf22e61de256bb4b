"""KServe's V1 protocol and Triton's extensions (model configuration, statistics, the
repository index), each added as one module and its lines in the route table, tested on a
live server with KServe's and Triton's own clients on their defaults."""
import json
import subprocess

import pytest

from serving import CLIENTS, ROWS, call, cli, installed, start, stop
from repo import free_port
from housing.config import FEATURES

V1 = """
import asyncio, json, sys
from kserve import InferenceRESTClient, RESTConfig
async def main(base, rows, features):
    client = InferenceRESTClient(RESTConfig(protocol="v1", timeout=10))
    out = {"live": await client.is_server_live(base),
           "ready": await client.is_model_ready(base, "quantized")}
    lists = await client.infer(base, {"instances": rows}, model_name="quantized")
    records = await client.infer(base, {"instances": [dict(zip(features, r)) for r in rows]},
                                 model_name="float")
    try:
        await client.infer(base, {"instances": [r[:7] for r in rows]}, model_name="quantized")
    except Exception as e:  # httpx's HTTPStatusError: our message, then httpx's
        out["refused"] = str(e)
    out.update(lists=lists, records=records)
    await client.close()
    print(json.dumps(out))
asyncio.run(main("http://" + sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])))
"""

TRITON = """
import json, sys
import tritonclient.http as http
client = http.InferenceServerClient(sys.argv[1])
print(json.dumps({"config": client.get_model_config("quantized"),
                  "index": client.get_model_repository_index(),
                  "stats": [client.get_inference_statistics("quantized") for _ in range(4)],
                  "extensions": client.get_server_metadata()["extensions"]}))
"""


def in_clients(script, server, *args):
    run = subprocess.run([CLIENTS, "-c", script, server[0], *args], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.mark.skipif(not installed("kserve"), reason="kserve is not installed: make clients")
def test_kserve_v1_with_kserves_client(server, built):
    out = in_clients(V1, server, json.dumps(ROWS.tolist()), json.dumps(FEATURES))
    assert out["live"] is True and out["ready"] is True
    assert out["lists"] == {"predictions": cli(built, "quantized")}
    assert out["records"] == {"predictions": cli(built, "float")}
    assert out["refused"].startswith("request body, instance 1: expected 8 values, got 7")


def test_kserve_v1_routes_and_refusals(server):
    assert call(server, "GET", "/")[:2] == (200, {"status": "alive"})
    assert call(server, "GET", "/v1/models")[:2] == (200, {"models": ["float", "quantized"]})
    assert call(server, "GET", "/v1/models/float")[:2] == (200, {"name": "float", "ready": True})
    assert call(server, "GET", "/v1/models/nope")[:2] == (404, {
        "error": "no model named 'nope'; expected one of float, quantized"})
    for body, message in [
            ({"inputs": []}, "request body: expected an object with 'instances', got no "
                             "'instances'"),
            ([1], "request body: expected an object with 'instances', got an array"),
            ({"instances": []}, "request body, 'instances': expected a list of instances, got "
                                "an empty list"),
            ({"instances": [{"MedInc": 1}]}, "request body, instance 1: missing columns "
                                             "HouseAge, AveRooms, AveBedrms, Population, "
                                             "AveOccup, Latitude, Longitude; expected MedInc, "
                                             "HouseAge, AveRooms, AveBedrms, Population, "
                                             "AveOccup, Latitude, Longitude"),
            ({"instances": [ROWS[0].tolist()[:7] + ["x"]]},
             "request body, instance 1, column 'Longitude': expected a number, got 'x'")]:
        assert call(server, "POST", "/v1/models/float:predict", body)[:2] == (
            400, {"error": message})


@pytest.mark.skipif(not installed("tritonclient.http"),
                    reason="tritonclient is not installed: make clients")
def test_tritons_extensions_with_tritonclient_across_two_workers(built):
    port = free_port()
    proc = start(built, port, "--workers", "2")
    server = (f"127.0.0.1:{port}",)
    try:
        body = {"inputs": [{"name": "features", "shape": [3, 8], "datatype": "FP64",
                            "data": ROWS.ravel().tolist()}]}
        for _ in range(5):  # each on a connection of its own: the workers share them
            assert call(server, "POST", "/v2/models/quantized/infer", body)[0] == 200
        assert call(server, "POST", "/v2/models/quantized/infer", {"inputs": []})[0] == 400
        out = in_clients(TRITON, server)
    finally:
        status, _, err = stop(proc)
    assert status == 0, err
    config = out["config"]
    assert config["name"] == "quantized" and config["max_batch_size"] == 0
    assert config["input"] == [{"name": "features", "data_type": "TYPE_FP64", "dims": [-1, 8]}]
    assert config["output"] == [{"name": "MedHouseVal", "data_type": "TYPE_FP64", "dims": [-1]}]
    assert [(m["name"], m["state"]) for m in out["index"]] == [("float", "READY"),
                                                              ("quantized", "READY")]
    first = out["stats"][0]["model_stats"][0]
    assert all(s == out["stats"][0] for s in out["stats"])  # whichever worker answered
    assert first["inference_count"] == 15 and first["execution_count"] == 5
    assert first["inference_stats"]["success"]["count"] == 5
    assert first["inference_stats"]["fail"]["count"] == 1
    assert first["inference_stats"]["success"]["ns"] > 0 and first["last_inference"] > 0
    assert {"binary_tensor_data", "model_configuration", "statistics",
            "model_repository"} <= set(out["extensions"])


def test_the_repository_index_takes_an_empty_body_or_an_object(server):
    assert [m["name"] for m in call(server, "POST", "/v2/repository/index", {"ready": True})[1]] \
        == ["float", "quantized"]
    assert call(server, "POST", "/v2/repository/index", [None, None])[:2] == (
        400, {"error": "request body: expected an object, got an array"})
    assert call(server, "POST", "/v2/repository/index", {"ready": 1})[:2] == (
        400, {"error": "request body: expected 'ready', true or false, got a number"})
