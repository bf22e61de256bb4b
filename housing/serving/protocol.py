"""What every protocol says unless it says otherwise: the wording of a body's fields, the
error body and its schema, and how a handler describes itself in /openapi.json.

A protocol is a module (or package) of handlers that take a read-only ``http.Request``
and return an ``http.Response``, with its ``NAME`` (its label in the metrics). It takes
``error_body`` and ``ERROR_SCHEMA`` from here, or defines its own where its clients expect
another shape (MLflow's). Each handler is ``described``: what /openapi.json says of it.
"""
from typing import NamedTuple

from ..cli import UserError
from ..readers.values import type_name

BODY = "request body"  # how a message names the body, before the field it is about
PLATFORM = "housing-numpy"  # what the Open Inference Protocol and Triton call the runtime


def error_body(message, status):
    """The body of a refusal: one line saying what is wrong."""
    return {"error": message}


def json_object(properties, required=()):
    """The JSON schema of an object of ``properties`` (name -> schema)."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STRING = {"type": "string"}
NUMBERS = {"type": "array", "items": {"type": "number"}}
ERROR_SCHEMA = json_object({"error": STRING}, ["error"])


def json_content(schema):
    """The content (media type -> schema) of a JSON body."""
    return {"application/json": {"schema": schema}}


def field(obj, key, kind, where, required=False):
    """``obj[key]`` when it is of JSON type ``kind`` (dict, list or str); None when it is
    absent and not ``required``."""
    if key not in obj and not required:
        return None
    value = obj.get(key)
    if not isinstance(value, kind):
        got = type_name(value) if key in obj else "none"
        raise UserError(f"{where}: expected '{key}', {type_name(kind())}, got {got}")
    return value


class Description(NamedTuple):
    """What /openapi.json says of a handler.

    summary : one line
    answer : the content of a 200 answer (media type -> {"schema": ...})
    body : the content of the request body it reads, or None
    refusals : the statuses the handler itself answers with besides 200 (those of reading
        a body are the server's, added to every route that takes one)
    headers : the request headers it reads, as OpenAPI parameters
    answer_headers : the headers of a 200 answer, name -> {"schema": ...}
    body_required : whether the body may be empty
    probe : a health probe, which orchestrators call every few seconds: logged only when
        it fails
    """
    summary: str
    answer: dict
    body: dict = None
    refusals: tuple = ()
    headers: tuple = ()
    answer_headers: dict = None
    body_required: bool = True
    probe: bool = False


def described(summary, answer, **more):
    """Mark a handler with its Description; ``answer`` as for Description."""
    def mark(handler):
        handler.description = Description(summary, answer, **more)
        return handler
    return mark
