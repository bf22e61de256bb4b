"""Triton's extensions of the Open Inference Protocol, on their documented routes, as
tritonclient asks for them: model configuration, statistics and the repository index.
Part of the Open Inference Protocol (``oip``): its NAME and its errors.

    GET  /v2/models/NAME/config     the inputs, outputs and types the model takes
    GET  /v2/models/NAME/stats      requests, rows and cumulative time, across workers
    POST /v2/repository/index       every model, its version and state

Statistics are read from the metrics every worker writes, so they are true whichever
worker answers.
"""
from ...cli import UserError
from ...config import TARGET
from ...readers import jsonrows
from ...readers.values import type_name
from ..http import HTTPError, Response
from ..protocol import BODY, PLATFORM, STRING, described, field, json_content, json_object
from .tensors import INPUT

COUNT = {"type": "integer"}


class Triton:
    """The handlers over a serving.served.Served; ``metrics`` a serving.metrics.Metrics."""

    def __init__(self, served, metrics):
        self.served = served
        self.metrics = metrics

    @described("Triton's model configuration extension", json_content(json_object({
        "name": STRING, "max_batch_size": COUNT, "input": {"type": "array"},
        "output": {"type": "array"}}, ["name", "input", "output"])), refusals=(404,))
    def config(self, request):
        name, model = self.served.get(request)
        return Response({
            "name": name, "platform": PLATFORM, "backend": "housing",
            "max_batch_size": 0, "version_policy": {"specific": {"versions": [model.version]}},
            "input": [{"name": INPUT, "data_type": "TYPE_FP64",
                       "dims": [-1, len(model.features)]}],
            "output": [{"name": TARGET, "data_type": "TYPE_FP64", "dims": [-1]}],
            "parameters": {"kind": {"string_value": model.kind}}})

    @described("Triton's statistics extension, summed over every worker", json_content(
        json_object({"model_stats": {"type": "array", "items": json_object({
            "name": STRING, "version": STRING, "last_inference": COUNT,
            "inference_count": COUNT, "execution_count": COUNT,
            "inference_stats": {"type": "object"}}, ["name", "version", "inference_count",
                                                     "execution_count", "inference_stats"])}},
            ["model_stats"])), refusals=(404, 503))
    def stats(self, request):
        name, model = self.served.get(request)
        if not self.metrics:
            raise HTTPError(404, "statistics are kept by the metrics, which are off")
        totals = self.metrics.model_totals(name)
        return Response({"model_stats": [{
            "name": name, "version": model.version,
            "last_inference": totals.last_inference_ms,
            "inference_count": totals.rows, "execution_count": totals.successes,
            "inference_stats": {
                "success": {"count": totals.successes, "ns": totals.success_ns},
                "fail": {"count": totals.failures, "ns": totals.failure_ns}},
            "batch_stats": []}]})

    @described("Triton's model repository extension: every model, its version and state",
               json_content({"type": "array", "items": json_object({
                   "name": STRING, "version": STRING, "state": STRING},
                   ["name", "version", "state"])}),
               body=json_content(json_object({"ready": {"type": "boolean"}})),
               refusals=(400, 415), body_required=False)
    def repository_index(self, request):
        """Every model; the body is empty, or an object whose optional 'ready' is true or
        false (every model served is ready)."""
        if request.body.strip():
            request.expect_kind("application/json", "")
            body = jsonrows.parse_json(request.body, BODY)
            if not isinstance(body, dict):
                raise UserError(f"{BODY}: expected an object, got {type_name(body)}")
            field(body, "ready", bool, BODY)
        return Response([{"name": name, "version": version, "state": "READY"}
                         for name, version in self.served.versions.items()])
