"""The one route table: (method, path pattern, route name, protocol, handler).

To add a protocol, write its module beside ``oip.py`` (its handlers, what they read, the
answers they encode, and its ``NAME`` and ``error_body(message, status)``), then add its lines
here: nothing else in the server changes. Metrics are labelled from this table; a path
matches a pattern whole, and its named groups are ``request.params``.
"""
import re
from typing import Callable, NamedTuple

from . import kserve_v1, oip, ops, scoring
from .oip import triton

MODEL = r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?"
V1_MODEL = r"/v1/models/(?P<name>[^/:]+)"
PREDICTS = True  # the route runs a model: counted in Triton's statistics


class Route(NamedTuple):
    method: str
    pattern: re.Pattern
    name: str  # the route's label in the metrics
    protocol: object  # the protocol's module: its NAME and error_body
    handler: Callable  # Request -> http.Response
    predicts: bool = False


def table(served, metrics):
    """The routes over a serving.served.Served, tried in order: the two that carry the
    load first."""
    inference = oip.OpenInference(served, oip.EXTENSIONS + triton.EXTENSIONS)
    extensions = triton.Triton(served, metrics)
    scorer = scoring.Scoring(served)
    v1 = kserve_v1.KServeV1(served)
    operations = ops.Operations(served, metrics)
    routes = [
        ("POST", MODEL + "/infer", "infer", oip, inference.infer, PREDICTS),
        ("POST", "/invocations", "invocations", scoring, scorer.invocations, PREDICTS),
        ("POST", V1_MODEL + ":predict", "predict", kserve_v1, v1.predict, PREDICTS),
        ("GET", "/v2/health/live", "health", oip, inference.live),
        ("GET", "/v2/health/ready", "health", oip, inference.ready),
        ("GET", "/v2", "server", oip, inference.server),
        ("GET", MODEL, "metadata", oip, inference.model_metadata),
        ("GET", MODEL + "/ready", "ready", oip, inference.model_ready),
        ("GET", MODEL + "/config", "config", triton, extensions.config),
        ("GET", MODEL + "/stats", "stats", triton, extensions.stats),
        ("POST", "/v2/repository/index", "repository", triton, extensions.repository_index),
        ("GET", "/", "health", kserve_v1, v1.live),
        ("GET", "/v1/models", "models", kserve_v1, v1.models),
        ("GET", V1_MODEL, "ready", kserve_v1, v1.model_ready),
        ("GET", "/ping", "health", ops, operations.ping),
        ("GET", "/health", "health", ops, operations.ping),
        ("GET", "/version", "version", ops, operations.version),
        ("GET", "/metrics", "metrics", ops, operations.scrape),
        ("GET", "/openapi.json", "openapi", ops, operations.openapi),
        ("GET", "/v2/docs/dataplane.json", "openapi", oip, operations.openapi),
    ]
    return [Route(method, re.compile(path), *rest) for method, path, *rest in routes]
