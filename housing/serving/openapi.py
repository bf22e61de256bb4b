"""/openapi.json, assembled from the route table and each handler's ``Description``: a
route is described where it is served, so the two cannot drift apart."""
import re

from .. import __version__
from . import protocol

TITLE = "housing"
ABOUT = ("California Housing's linear model, float and quantized: the Open Inference "
         "Protocol (REST, with Triton's binary tensor data and extensions), MLflow's scoring "
         "protocol, KServe's V1, health, metrics.")
# What reading any request body may answer, besides what its handler says (serving.body)
BODY_REFUSALS = (400, 408, 413, 415, 503)
OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
PARAMETER = re.compile(r"\{(\w+)\}")


def expand(template):
    """The paths a route's template stands for: without and with each optional part."""
    match = OPTIONAL.search(template)
    if not match:
        return [template]
    head = template[:match.start()]
    tail = template[match.end():]
    return expand(head + tail) + expand(head + match[1] + tail)


def document(routes, values):
    """The OpenAPI document of ``routes``; ``values`` maps a path parameter's name to the
    values it takes here (the models served, their versions)."""
    paths = {}
    for route in routes:
        for path in expand(route.template):
            paths.setdefault(path, {})[route.method.lower()] = operation(route, path, values)
    return {"openapi": "3.1.0", "info": {"title": TITLE, "version": __version__,
                                         "description": ABOUT}, "paths": paths}


def operation(route, path, values):
    """The operation object of ``route`` on one of its paths."""
    description = route.handler.description
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "enum": values[name]}}
                  for name in PARAMETER.findall(path)]
    parameters += list(description.headers)
    op = {"summary": description.summary}
    if parameters:
        op["parameters"] = parameters
    if description.body is not None:
        op["requestBody"] = {"required": description.body_required, "content": description.body}
    answer = {"description": "OK", "content": description.answer}
    if description.answer_headers:
        answer["headers"] = description.answer_headers
    refusal = {"description": "A refusal, in one line",
               "content": {"application/json": {"schema": getattr(
                   route.protocol, "ERROR_SCHEMA", protocol.ERROR_SCHEMA)}}}
    statuses = set(description.refusals)
    if description.body is not None:
        statuses |= set(BODY_REFUSALS)
    op["responses"] = {"200": answer, **{str(status): refusal for status in sorted(statuses)}}
    return op
