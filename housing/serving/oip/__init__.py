"""The Open Inference Protocol (KServe's "V2", Triton, Seldon MLServer), REST, with
Triton's binary tensor data (``tensors``) and Triton's extensions (``triton``): the core
routes' handlers, the answers they encode. Errors are ``protocol``'s ``{"error": "..."}``.

An infer request is read by ``tensors``; the answer is one FP64 output of shape [n],
as JSON ``data`` or, when the request asks for it, as binary bytes after the JSON header.
"""
import re

from ... import __version__
from ...cli import UserError
from ...config import TARGET
from ...readers import jsonrows, values
from ...readers.chunk import Chunk
from ...readers.values import DATATYPES
from ..http import Response, STRICT
from ..protocol import BODY, NUMBERS, PLATFORM, STRING, described, json_content, json_object
from . import tensors

NAME = "oip"
# what /v2 lists: the binary tensor data of ``tensors``, and ``triton``'s three
EXTENSIONS = ["binary_tensor_data", "model_configuration", "statistics", "model_repository"]
HEADER_LENGTH = b"inference-header-content-length"
DIGITS = re.compile(r"[0-9]{1,20}")  # ASCII digits only: int() takes others too

BINARY_BODY = {"schema": {"type": "string", "format": "binary"}}
TENSOR = json_object({
    "name": STRING,
    "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    "datatype": {"type": "string", "enum": list(DATATYPES)},
    "parameters": json_object({"binary_data_size": {"type": "integer", "minimum": 0}}),
    "data": {"type": "array"}}, ["name", "shape", "datatype"])
INFER_REQUEST = json_object({
    "id": STRING,
    "parameters": json_object({"binary_data_output": {"type": "boolean"}}),
    "inputs": {"type": "array", "minItems": 1, "items": TENSOR},
    "outputs": {"type": "array", "items": json_object({
        "name": {"type": "string", "enum": [TARGET]},
        "parameters": json_object({"binary_data": {"type": "boolean"}})}, ["name"])}},
    ["inputs"])
INFER_RESPONSE = json_object({
    "model_name": STRING,
    "id": STRING,
    "parameters": json_object({
        "rows_outside_training_range": {"type": "integer", "minimum": 0},
        "ignored_inputs": {"type": "array", "items": STRING}}, ["rows_outside_training_range"]),
    "outputs": {"type": "array", "items": json_object({
        "name": STRING,
        "datatype": STRING,
        "shape": {"type": "array", "items": {"type": "integer"}},
        "data": NUMBERS,
        "parameters": json_object({"binary_data_size": {"type": "integer"}})},
        ["name", "datatype", "shape"])}},
    ["model_name", "outputs", "parameters"])
MODEL_METADATA = json_object({
    "name": STRING,
    "versions": {"type": "array", "items": STRING},
    "platform": STRING,
    "inputs": {"type": "array", "items": {"type": "object"}},
    "outputs": {"type": "array", "items": {"type": "object"}},
    "parameters": {"type": "object"}}, ["name", "versions", "platform", "inputs", "outputs",
                                        "parameters"])
READY = json_object({"name": STRING, "ready": {"type": "boolean"}}, ["name", "ready"])
LENGTH_HEADER = {"name": "Inference-Header-Content-Length", "in": "header", "required": False,
                 "schema": {"type": "string", "pattern": "^[0-9]+$"}}


class OpenInference:
    """The protocol's handlers over a serving.served.Served."""

    def __init__(self, served):
        self.served = served

    @described("Server metadata", json_content(json_object({
        "name": STRING, "version": STRING, "extensions": {"type": "array", "items": STRING}},
        ["name", "version", "extensions"])))
    def server(self, request):
        return Response({"name": "housing", "version": __version__, "extensions": EXTENSIONS})

    @described("Liveness", json_content(json_object({"live": {"type": "boolean"}}, ["live"])),
               probe=True)
    def live(self, request):
        return Response({"live": True})

    @described("Readiness", json_content(json_object({"ready": {"type": "boolean"}},
                                                      ["ready"])), probe=True)
    def ready(self, request):
        return Response({"ready": True})

    @described("Model readiness", json_content(READY), refusals=(404,))
    def model_ready(self, request):
        name, _ = self.served.get(request)
        return Response({"name": name, "ready": True})

    @described("Model metadata", json_content(MODEL_METADATA), refusals=(404,))
    def model_metadata(self, request):
        name, model = self.served.get(request)
        # one [n, 8] tensor is the signature; one [n] tensor per feature is accepted too
        params = {"kind": model.kind, "features": list(model.features),
                  "per_feature_inputs": True, "training_ranges": model.ranges.stored(),
                  "units": "$100,000", "housing_version": __version__}
        if model.kind == "quantized":
            params.update(method=model.method, bits=model.bits)
        if name in self.served.registered:
            params["registry"] = self.served.registered[name]
        return Response({"name": name, "versions": [model.version], "platform": PLATFORM,
                         "inputs": [{"name": tensors.INPUT, "datatype": "FP64",
                                     "shape": [-1, len(model.features)]}],
                         "outputs": [{"name": TARGET, "datatype": "FP64", "shape": [-1]}],
                         "parameters": params})

    @described("Predict rows (Open Inference Protocol)",
               dict(json_content(INFER_RESPONSE), **{"application/octet-stream": BINARY_BODY}),
               body=dict(json_content(INFER_REQUEST), **{"application/octet-stream": dict(
                   BINARY_BODY, description="Triton's binary tensor data: the JSON request, "
                                            "as long as the Inference-Header-Content-Length "
                                            "header says, then the tensors' bytes")}),
               refusals=(400, 404, 415), headers=(LENGTH_HEADER,))
    def infer(self, request):
        name, model = self.served.get(request)
        request.expect_kind("application/json", "application/octet-stream", "")
        header, blob = split_binary(request)
        parsed = jsonrows.parse_json(header, BODY)
        inputs = tensors.read_inputs(parsed, model.features, tensors.Binary(blob))
        X = inputs.X
        prediction = self.served.predict(model, Chunk(X, range(1, len(X) + 1), row_named))
        params = {"rows_outside_training_range": prediction.outside}
        if inputs.ignored:
            params["ignored_inputs"] = inputs.ignored
        return answer(name, parsed, prediction, params)


def row_named(no):
    return f"row {no}"


def split_binary(request):
    """(the JSON header, the binary tensor data after it) of an infer request's body."""
    body = request.body
    length = request.header(HEADER_LENGTH)
    if not length:
        return body, b""
    if not DIGITS.fullmatch(length) or int(length) > len(body):
        raise UserError(f"Inference-Header-Content-Length: expected the JSON header's "
                        f"length, at most the body's {len(body)} bytes, got "
                        f"{values.shown(length)}")
    return body[:int(length)], body[int(length):]


def binary_output(request):
    """Whether the response's output is to be binary: the output's own 'binary_data'
    parameter if it names one, else the request's 'binary_data_output'."""
    asked = (request.get("parameters") or {}).get("binary_data_output") is True
    for output in request.get("outputs") or []:
        asked = (output.get("parameters") or {}).get("binary_data", asked) is True
    return asked


def answer(name, request, prediction, parameters):
    """The infer response: one FP64 output of shape [n], as data or as binary bytes after
    the JSON header; the request's id."""
    y = prediction.y
    out = {"name": TARGET, "datatype": "FP64", "shape": [len(y)]}
    binary = binary_output(request)
    if binary:
        blob = y.astype("<f8").tobytes()
        out["parameters"] = {"binary_data_size": len(blob)}
    else:
        out["data"] = y.tolist()
    body = {"model_name": name, "outputs": [out], "parameters": parameters}
    if "id" in request:
        body["id"] = request["id"]
    if not binary:
        return Response(body, prediction=prediction)
    head = STRICT.encode(body).encode()
    return Response(data=head + blob, kind="application/octet-stream",
                    headers=[(HEADER_LENGTH, str(len(head)).encode())], prediction=prediction)


def request_for(X):
    """An infer request for X of shape (n, n_features): one FP64 tensor, row-major."""
    return {"inputs": [{"name": tensors.INPUT, "shape": list(X.shape), "datatype": "FP64",
                        "data": X.ravel().tolist()}]}
