"""Triton's extensions of the Open Inference Protocol, on their documented routes, as
tritonclient asks for them: model configuration, statistics and the repository index.
Errors are the Open Inference Protocol's ``{"error": "..."}``.

    GET  /v2/models/NAME/config     the inputs, outputs and types the model takes
    GET  /v2/models/NAME/stats      requests, rows and cumulative time, across workers
    POST /v2/repository/index       every model, its version and state

Statistics are read from the metrics every worker writes, so they are true whichever
worker answers.
"""
from ...cli import UserError
from ...config import TARGET
from ...readers import jsondoc
from ...readers.values import type_name
from ..http import HTTPError, Response
from .tensors import INPUT, field

BODY = "request body"

NAME = "oip"
EXTENSIONS = ["model_configuration", "statistics", "model_repository"]


def error_body(message, status):
    return {"error": message}


class Triton:
    """The handlers over a serving.served.Served; ``metrics`` a serving.metrics.Metrics."""

    def __init__(self, served, metrics):
        self.served = served
        self.metrics = metrics

    def config(self, request):
        name, model = self.served.get(request)
        return Response({
            "name": name, "platform": "housing-numpy", "backend": "housing",
            "max_batch_size": 0, "version_policy": {"specific": {"versions": [
                self.served.versions[name]]}},
            "input": [{"name": INPUT, "data_type": "TYPE_FP64",
                       "dims": [-1, len(model.features)]}],
            "output": [{"name": TARGET, "data_type": "TYPE_FP64", "dims": [-1]}],
            "parameters": {"kind": {"string_value": model.kind}}})

    def stats(self, request):
        name, _ = self.served.get(request)
        if not self.metrics:
            raise HTTPError(404, "statistics are kept by the metrics, which are off")
        totals = self.metrics.model_totals(name)
        return Response({"model_stats": [{
            "name": name, "version": self.served.versions[name],
            "last_inference": totals.last_inference_ms,
            "inference_count": totals.rows, "execution_count": totals.successes,
            "inference_stats": {
                "success": {"count": totals.successes, "ns": totals.success_ns},
                "fail": {"count": totals.failures, "ns": totals.failure_ns}},
            "batch_stats": []}]})

    def repository_index(self, request):
        """Every model; the body is empty, or an object whose optional 'ready' is true or
        false (every model served is ready)."""
        if request.body.strip():
            request.expect_kind("application/json", "")
            body = jsondoc.parse_json(request.body, BODY)
            if not isinstance(body, dict):
                raise UserError(f"{BODY}: expected an object, got {type_name(body)}")
            field(body, "ready", bool, BODY)
        return Response([{"name": name, "version": self.served.versions[name],
                          "state": "READY"} for name in self.served.models])
