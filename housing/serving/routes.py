"""The one route table: (method, path template, route name, protocol, handler).

To add a protocol, write its module beside ``kserve_v1.py`` (its ``NAME``, its handlers,
each ``protocol.described``, and anything it says otherwise than ``protocol``), then add
its lines here: nothing else in the server changes. Its routes are then served, counted
in the metrics under their names and its ``NAME``, listed in the 404 texts and described
in /openapi.json.

A template is a path as people write it: ``{model}`` is one segment, up to the next "/"
or ":" (which begins a custom method, ``:predict``, as in Google's API design guide), and
``[...]`` an optional part. Its
parameters, and a route's defaults, are ``request.params``: ``model`` names the model a
route addresses (what the metrics count it under), ``version`` its version.
"""
import re
from typing import Callable, NamedTuple

from . import kserve_v1, oip, openapi, ops, scoring
from .oip import triton

MODEL = "/v2/models/{model}[/versions/{version}]"
V1_MODEL = "/v1/models/{model}"
PREDICTS = True  # the route runs a model: counted in Triton's statistics


class Route(NamedTuple):
    method: str
    template: str  # the path as people write it
    pattern: re.Pattern  # the template compiled
    name: str  # the route's label in the metrics
    protocol: object  # the protocol's module: its NAME, error_body and ERROR_SCHEMA
    handler: Callable  # Request -> http.Response, with its protocol.Description
    predicts: bool = False
    defaults: dict = {}  # parameters the path does not give


def table(served, metrics):
    """The routes over a serving.served.Served, tried in order: the three that carry the
    load first."""
    inference = oip.OpenInference(served)
    extensions = triton.Triton(served, metrics)
    scorer = scoring.Scoring(served)
    v1 = kserve_v1.KServeV1(served)
    operations = ops.Operations(metrics)
    routes = [
        ("POST", MODEL + "/infer", "infer", oip, inference.infer, PREDICTS),
        ("POST", "/invocations", "invocations", scoring, scorer.invocations, PREDICTS,
         {"model": served.default}),
        ("POST", V1_MODEL + ":predict", "predict", kserve_v1, v1.predict, PREDICTS),
        ("GET", "/v2/health/live", "health", oip, inference.live),
        ("GET", "/v2/health/ready", "health", oip, inference.ready),
        ("GET", "/v2", "server", oip, inference.server),
        ("GET", MODEL, "metadata", oip, inference.model_metadata),
        ("GET", MODEL + "/ready", "ready", oip, inference.model_ready),
        ("GET", MODEL + "/config", "config", oip, extensions.config),
        ("GET", MODEL + "/stats", "stats", oip, extensions.stats),
        ("POST", "/v2/repository/index", "repository", oip, extensions.repository_index),
        ("GET", "/", "health", kserve_v1, v1.live),
        ("GET", "/v1/models", "models", kserve_v1, v1.models),
        ("GET", V1_MODEL, "ready", kserve_v1, v1.model_ready),
        ("GET", "/ping", "health", ops, operations.ping),
        ("GET", "/health", "health", ops, operations.health),
        ("GET", "/version", "version", ops, operations.version),
        ("GET", "/metrics", "metrics", ops, operations.scrape),
        ("GET", "/openapi.json", "openapi", ops, operations.openapi),
        ("GET", "/v2/docs/dataplane.json", "openapi", oip, operations.openapi),
    ]
    compiled = [Route(method, path, compile_path(path), *rest) for method, path, *rest in routes]
    values = {"model": list(served.models), "version": sorted(set(served.versions.values()))}
    operations.describe(openapi.document(compiled, values))
    return compiled


TOKEN = re.compile(r"(\{\w+\}|\[|\])")
SEGMENT = "[^/:]+"  # what a parameter matches


def compile_path(template):
    """The regular expression of a path template, matched against a whole path."""
    out = []
    for part in TOKEN.split(template):
        if part == "[":
            out.append("(?:")
        elif part == "]":
            out.append(")?")
        elif part.startswith("{"):
            out.append(f"(?P<{part[1:-1]}>{SEGMENT})")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))
