"""MLflow's scoring protocol on /invocations, with SageMaker's conventions: its handler,
the rows it reads, the answers it encodes and its error body,
``{"error_code": ..., "message": ...}``.

JSON bodies hold ``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``
(``params`` beside it is ignored: the model takes none). A body of another format
``readers`` reads is read by its module, found by its media type: CSV with a header, or
SageMaker's bare rows in the model's feature order, and JSON Lines of records. The answer's media type follows
Accept: JSON ``{"predictions": [...]}``, CSV or JSON Lines.
"""
import json
import sys

from ..cli import UserError
from ..config import TARGET
from .. import readers
from ..readers import jsonrows
from ..readers.chunk import merge
from ..readers.columns import Columns, match_columns
from ..readers.values import type_name
from .http import HTTPError, Response
from .protocol import BODY, NUMBERS, STRING, described, field, json_content, json_object

NAME = "mlflow"
KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# Accept -> the media type answered
ANSWER_KINDS = {"application/json": "application/json", "text/csv": "text/csv",
                "application/jsonlines": "application/jsonlines", "*/*": "application/json",
                "application/*": "application/json", "text/*": "text/csv"}


# MLflow's error codes (mlflow.protos.databricks_pb2), by what the client must change
ERROR_CODES = {404: "ENDPOINT_NOT_FOUND", 405: "ENDPOINT_NOT_FOUND",
               406: "NOT_IMPLEMENTED",  # an Accept this server cannot answer in
               408: "DEADLINE_EXCEEDED", 413: "MAX_READ_SIZE_EXCEEDED",
               415: "INVALID_PARAMETER_VALUE"}  # the Content-Type or Content-Encoding


def error_body(message, status):
    return {"error_code": ERROR_CODES.get(status, "BAD_REQUEST"), "message": message}


ERROR_SCHEMA = json_object({"error_code": STRING, "message": STRING}, ["error_code", "message"])
REQUEST = dict(json_object({
    "dataframe_split": json_object({"columns": {"type": "array", "items": STRING},
                                    "data": {"type": "array"}}, ["columns", "data"]),
    "dataframe_records": {"type": "array", "items": {"type": "object"}},
    "instances": {"type": "array"},
    "inputs": {"type": ["array", "object"]},
    "params": {"type": "object"}}), minProperties=1)
TEXT = {"schema": STRING}
# the bodies the readers' formats read, besides MLflow's JSON: CSV, JSON Lines
ROW_KINDS = tuple(kind for kind in readers.MEDIA_TYPES if kind != "application/json")


class Scoring:
    """The /invocations handler over a serving.served.Served: its default model."""

    def __init__(self, served):
        self.served = served
        self.said_params = False

    @described("Predict rows (MLflow's scoring protocol; SageMaker's CSV)",
               dict(json_content(json_object({"predictions": NUMBERS}, ["predictions"])),
                    **{"text/csv": TEXT, "application/jsonlines": TEXT}),
               body=dict(json_content(REQUEST), **{kind: TEXT for kind in ROW_KINDS}),
               refusals=(400, 406, 415),
               headers=({"name": "Accept", "in": "header", "required": False,
                         "schema": STRING},),
               answer_headers={"X-Rows-Outside-Training-Range": {
                   "schema": {"type": "string", "pattern": "^[0-9]+$"}}})
    def invocations(self, request):
        request.expect_kind("application/json", *ROW_KINDS)
        kind = answer_kind(request)
        _, model = self.served.get(request)
        chunk = self.read(request, model.features)
        if chunk.bad:
            raise UserError(chunk.bad[0].message)
        prediction = self.served.predict(model, chunk)
        y = prediction.y.tolist()
        if kind == "text/csv":
            data = "".join(f"{v!r}\n" for v in y)
        elif kind == "application/jsonlines":
            data = "".join(json.dumps({TARGET: v}) + "\n" for v in y)
        else:
            data = json.dumps({"predictions": y})
        outside = str(prediction.outside).encode()
        return Response(data=data.encode(), kind=kind,
                        headers=[(b"x-rows-outside-training-range", outside)],
                        prediction=prediction)

    def read(self, request, features):
        """A Chunk of the body's rows: MLflow's JSON, or a reader's format."""
        if request.kind in ROW_KINDS:
            table = readers.MEDIA_TYPES[request.kind].read_body(request.body, features, BODY)
            return merge(table.chunks)
        doc = jsonrows.parse_json(request.body, BODY)
        if isinstance(doc, dict) and field(doc, "params", dict, BODY) is not None:
            doc = {k: v for k, v in doc.items() if k != "params"}  # the model takes none
            if not self.said_params:
                self.said_params = True
                print("housing serve: ignoring MLflow 'params' in requests (the model takes "
                      "none; said once)", file=sys.stderr, flush=True)
        return rows_of(doc, features)


def answer_kind(request):
    """The media type to answer in for the Accept header; 406 if none fits."""
    for kind in request.tokens(b"accept"):
        if kind in ANSWER_KINDS or not kind:
            return ANSWER_KINDS.get(kind, "application/json")
    raise HTTPError(406, f"Accept {request.header(b'accept')[:64]!r} cannot be answered here; "
                         f"expected application/json, text/csv or application/jsonlines")


def rows_of(doc, features):
    """A Chunk of a JSON body in one of the four keys."""
    keys = [k for k in KEYS if isinstance(doc, dict) and k in doc]
    if len(keys) != 1 or len(doc) != 1:
        got = ", ".join(repr(k[:64]) for k in list(doc)[:8]) if isinstance(doc, dict) \
            else type_name(doc)
        raise UserError(f"{BODY}: expected an object with one of {', '.join(KEYS)}; "
                        f"got {got or 'an empty object'}")
    key = keys[0]
    value = doc[key]
    in_order = Columns(tuple(features), tuple(range(len(features))))
    if key == "dataframe_split":
        if not isinstance(value, dict):
            raise UserError(f"{BODY}, 'dataframe_split': expected an object with 'columns' "
                            f"and 'data', got {type_name(value)}")
        names = field(value, "columns", list, f"{BODY}, 'dataframe_split'", required=True)
        columns = match_columns(names, features, f"{BODY}, 'columns'")
        return items_of(value.get("data"), columns, list(columns.index), key)
    if key == "inputs" and isinstance(value, dict):  # columnar: name -> values
        match_columns(list(value), features, f"{BODY}, 'inputs'")
        lists = [value[f] for f in features]
        if not all(isinstance(v, list) for v in lists) or len(set(map(len, lists))) != 1:
            raise UserError(f"{BODY}, 'inputs': expected a list of values per feature, "
                            f"all of one length")
        return items_of([list(r) for r in zip(*lists)], in_order, list(in_order.index), key)
    if not isinstance(value, list) or not value:
        raise UserError(f"{BODY}, '{key}': expected a list of rows, got "
                        f"{type_name(value) if value != [] else 'an empty list'}")
    if isinstance(value[0], dict):  # records
        columns = match_columns(list(value[0]), features, f"{BODY}, {key} 1")
        return items_of(value, columns, list(features), key)
    return items_of(value, in_order, list(in_order.index), key)  # lists in feature order


def items_of(items, columns, keys, key):
    if not isinstance(items, list) or not items:
        raise UserError(f"{BODY}, '{key}': expected a list of rows")

    def where(no):
        return f"{BODY}, {key} {no}"
    return jsonrows.records(items, range(1, len(items) + 1), columns, keys, where)
