"""The one route table: (method, path pattern, route name, protocol, handler).

To add a protocol, write its module beside ``oip.py`` (its handlers, what they read, the
answers they encode, and its ``NAME`` and ``error_body(message)``), then add its lines
here: nothing else in the server changes. Metrics are labelled from this table; a path
matches a pattern whole, and its named groups are ``request.params``.
"""
import re
from typing import Callable, NamedTuple

from . import mlflow, oip, ops

MODEL = r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?"


class Route(NamedTuple):
    method: str
    pattern: re.Pattern
    name: str  # the route's label in the metrics
    protocol: object  # the protocol's module: its NAME and error_body
    handler: Callable  # Request -> http.Response


def table(served, metrics):
    """The routes over a serving.models.Served, tried in order: the two that carry the
    load first."""
    inference = oip.OpenInference(served)
    scoring = mlflow.Scoring(served)
    operations = ops.Operations(served, metrics)
    routes = [
        ("POST", MODEL + "/infer", "infer", oip, inference.infer),
        ("POST", "/invocations", "invocations", mlflow, scoring.invocations),
        ("GET", "/v2/health/live", "health", oip, inference.live),
        ("GET", "/v2/health/ready", "health", oip, inference.ready),
        ("GET", "/v2", "server", oip, inference.server),
        ("GET", MODEL, "metadata", oip, inference.model_metadata),
        ("GET", MODEL + "/ready", "ready", oip, inference.model_ready),
        ("GET", "/ping", "health", ops, operations.ping),
        ("GET", "/health", "health", ops, operations.ping),
        ("GET", "/version", "version", ops, operations.version),
        ("GET", "/metrics", "metrics", ops, operations.scrape),
        ("GET", "/openapi.json", "openapi", ops, operations.openapi),
        ("GET", "/v2/docs/dataplane.json", "openapi", oip, operations.openapi),
    ]
    return [Route(method, re.compile(path), name, protocol, handler)
            for method, path, name, protocol, handler in routes]
