"""The Open Inference Protocol (KServe's "V2", Triton, Seldon MLServer), REST: its routes'
handlers, the answers they encode and the error body, ``{"error": "..."}``.

An infer request is read by ``tensors``; the answer is one FP64 output of shape [n],
as JSON ``data`` or, when the request asks for it, as binary bytes after the JSON header.
"""
import re

from ... import __version__
from ...cli import UserError
from ...config import TARGET
from ...readers import jsondoc, values
from ...readers.chunk import Chunk
from . import tensors
from ..http import Response, STRICT

NAME = "oip"
EXTENSIONS = ["binary_tensor_data"]
HEADER_LENGTH = b"inference-header-content-length"
DIGITS = re.compile(r"[0-9]{1,20}")  # ASCII digits only: int() takes others too


def error_body(message, status):
    return {"error": message}


class OpenInference:
    """The protocol's handlers over a serving.served.Served."""

    def __init__(self, served, extensions=EXTENSIONS):
        self.served = served
        self.extensions = list(extensions)  # what /v2 lists: this module's and others'

    def server(self, request):
        return Response({"name": "housing", "version": __version__,
                         "extensions": self.extensions})

    def live(self, request):
        return Response({"live": True})

    def ready(self, request):
        return Response({"ready": True})

    def model_ready(self, request):
        name, _ = self.served.get(request)
        return Response({"name": name, "ready": True})

    def model_metadata(self, request):
        name, model = self.served.get(request)
        # one [n, 8] tensor is the signature; one [n] tensor per feature is accepted too
        params = {"kind": model.kind, "features": list(model.features),
                  "per_feature_inputs": True, "training_ranges": model.ranges.stored(),
                  "units": "$100,000", "housing_version": __version__}
        if model.kind == "quantized":
            params.update(method=model.method, bits=model.bits)
        return Response({"name": name, "versions": [self.served.versions[name]],
                         "platform": "housing-numpy",
                         "inputs": [{"name": tensors.INPUT, "datatype": "FP64",
                                     "shape": [-1, len(model.features)]}],
                         "outputs": [{"name": TARGET, "datatype": "FP64", "shape": [-1]}],
                         "parameters": params})

    def infer(self, request):
        name, model = self.served.get(request)
        request.expect_kind("application/json", "application/octet-stream", "")
        header, blob = split_binary(request)
        parsed = jsondoc.parse_json(header, tensors.BODY)
        inputs = tensors.read_inputs(parsed, model.features, tensors.Binary(blob))
        X = inputs.X
        prediction = self.served.predict(model, Chunk(X, range(1, len(X) + 1), row_named))
        request.outside = prediction.outside
        params = {"rows_outside_training_range": prediction.outside}
        if inputs.ignored:
            params["ignored_inputs"] = inputs.ignored
        return answer(name, parsed, prediction.y, params)


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


def answer(name, request, y, parameters):
    """The infer response: one FP64 output of shape [n], as data or as binary bytes after
    the JSON header; the request's id."""
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
        return Response(body, rows=len(y))
    head = STRICT.encode(body).encode()
    return Response(data=head + blob, kind="application/octet-stream", rows=len(y),
                    headers=[(HEADER_LENGTH, str(len(head)).encode())])


def request_for(X):
    """An infer request for X of shape (n, n_features): one FP64 tensor, row-major."""
    return {"inputs": [{"name": tensors.INPUT, "shape": list(X.shape), "datatype": "FP64",
                        "data": X.ravel().tolist()}]}
