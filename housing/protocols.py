"""Request bodies of the two HTTP protocols, read into rows, and their responses.

Open Inference Protocol (KServe's "V2", Triton, Seldon MLServer), REST: an infer request
holds ``inputs``, either one tensor of shape [n, n_features] in the model's feature order
or one tensor per feature, named after it, of shape [n] or [n, 1]; datatypes FP64, FP32,
INT64 or INT32; ``data`` flat (row-major) or nested. MLflow's scoring protocol:
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` in JSON, or CSV.

Values pass the same checks, with the same messages, as ``housing predict``'s: the readers
of ``rows``, ``csvrows`` and ``jsonrows`` do the work.
"""
import io
import itertools
import json
import math

import numpy as np

from . import csvrows, jsonrows
from .cli import UserError
from .config import TARGET
from .rows import Columns, match_columns, merge

INPUT = "features"  # the one [n, n_features] input tensor; OUTPUT is the target's name
DATATYPES = {"FP64": float, "FP32": float, "INT64": int, "INT32": int}
MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
BODY = "request body"


def loads(body):
    """The JSON of a request body, or a UserError saying where it stops being JSON."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as e:
        raise UserError(f"{BODY}: expected UTF-8 text, got byte 0x{body[e.start]:02x} at "
                        f"position {e.start + 1}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{BODY}: not valid JSON ({e.msg} at line {e.lineno}, column "
                        f"{e.colno})") from None


# --- Open Inference Protocol --------------------------------------------------------

def oip_rows(request, features):
    """X of shape (n, n_features) from an infer request (parsed JSON)."""
    if not isinstance(request, dict):
        raise UserError(f"{BODY}: expected an object with 'inputs', got "
                        f"{jsonrows.type_name(request)}")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, dict) for t in inputs):
        raise UserError(f"{BODY}: expected 'inputs', a list of tensors, got "
                        f"{jsonrows.type_name(inputs) if 'inputs' in request else 'none'}")
    if len(inputs) == 1:
        name, X = tensor(inputs[0], features, 0)
        if X.ndim != 2 or X.shape[1] != len(features):
            raise UserError(f"input '{name}': expected shape [n, {len(features)}] (the "
                            f"features in the model's order: {', '.join(features)}), got "
                            f"{list(X.shape)}")
        return X
    columns = {}
    for i, t in enumerate(inputs):
        name, x = tensor(t, features, i)
        if name not in features:
            raise UserError(f"input '{name}': not a feature; expected one tensor of shape "
                            f"[n, {len(features)}], or one per feature named "
                            f"{', '.join(features)}")
        if name in columns:
            raise UserError(f"input '{name}': given twice")
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise UserError(f"input '{name}': expected shape [n] or [n, 1], got {list(x.shape)}")
        columns[name] = x
    missing = [f for f in features if f not in columns]
    if missing:
        raise UserError(f"{BODY}: missing input{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)}; expected one tensor per feature")
    lengths = {len(x) for x in columns.values()}
    if len(lengths) > 1:
        raise UserError(f"{BODY}: the feature tensors differ in length "
                        f"({', '.join(f'{k} {len(v)}' for k, v in columns.items())})")
    return np.column_stack([columns[f] for f in features])


def tensor(t, features, i):
    """(name, array of the tensor's shape, float64) of one input tensor."""
    name = t.get("name", f"#{i + 1}")
    where = f"input '{name}'"
    datatype, shape, data = t.get("datatype"), t.get("shape"), t.get("data")
    if datatype not in DATATYPES:
        raise UserError(f"{where}: expected datatype {', '.join(DATATYPES)}, got {datatype!r}")
    if (not isinstance(shape, list) or not shape
            or not all(type(d) is int and d >= 0 for d in shape)):
        raise UserError(f"{where}: expected 'shape', a list of sizes, got {shape!r}")
    flat = _flatten(data, where)
    size = math.prod(shape)
    if len(flat) != size:
        raise UserError(f"{where}: shape {shape} holds {size} values, 'data' has {len(flat)}")
    kind = DATATYPES[datatype]
    allowed = {int} if kind is int else {int, float}
    if set(map(type, flat)) <= allowed:
        try:
            X = np.array(flat, dtype=np.float64)
        except OverflowError:  # an integer beyond float64
            X = np.array([np.inf])
        if np.isfinite(X).all():
            return name, X.reshape(shape)
    width = shape[-1] if len(shape) == 2 and shape[-1] == len(features) else None
    k, v = next((k, v) for k, v in enumerate(flat) if not _finite(v, allowed))
    at = (f", row {k // width + 1}, column '{features[k % width]}'" if width
          else f", element {k + 1}")
    want = "an integer" if kind is int else "a finite number"
    got = _float(v) if type(v) is float else json.dumps(v)[:40]
    raise UserError(f"{where}{at}: expected {want} ({datatype}), got {got}")


def _finite(v, allowed):
    return type(v) in allowed and abs(v) <= 1.7976931348623157e308


def _float(v):
    """A float as JSON spells it, NaN and the infinities included."""
    if v != v:
        return "NaN"
    return repr(v) if abs(v) <= 1.7976931348623157e308 else "Infinity" if v > 0 else "-Infinity"


def _flatten(data, where):
    """The values of ``data``, flat, in row-major order; nested lists of any depth."""
    if not isinstance(data, list):
        raise UserError(f"{where}: expected 'data', a list, got {jsonrows.type_name(data)}")
    while data and any(isinstance(v, list) for v in data):
        if not all(isinstance(v, list) for v in data):
            raise UserError(f"{where}: 'data' mixes lists and values at one depth")
        data = list(itertools.chain.from_iterable(data))
    return data


def oip_request(X):
    """An infer request for X of shape (n, n_features): one FP64 tensor, row-major."""
    return {"inputs": [{"name": INPUT, "shape": list(X.shape), "datatype": "FP64",
                        "data": X.ravel().tolist()}]}


def oip_response(name, request, y):
    """The infer response: one FP64 output of shape [n], and the request's id."""
    out = {"model_name": name, "outputs": [{"name": TARGET, "datatype": "FP64",
                                            "shape": [len(y)], "data": y.tolist()}]}
    if isinstance(request, dict) and "id" in request:
        out["id"] = request["id"]
    return out


# --- MLflow scoring protocol --------------------------------------------------------

def mlflow_rows(body, content_type, features):
    """A rows.Chunk of an /invocations body, JSON or CSV."""
    if content_type == "text/csv":
        return merge(csvrows.read_csv(io.BytesIO(body), features, BODY)[1])
    doc = loads(body)
    keys = [k for k in MLFLOW_KEYS if isinstance(doc, dict) and k in doc]
    if len(keys) != 1 or len(doc) != 1:
        got = ", ".join(map(repr, doc)) if isinstance(doc, dict) else jsonrows.type_name(doc)
        raise UserError(f"{BODY}: expected an object with one of {', '.join(MLFLOW_KEYS)}; "
                        f"got {got or 'an empty object'}")
    key, value = keys[0], doc[keys[0]]
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
            raise UserError(f"{BODY}, 'dataframe_split': expected an object with "
                            f"'columns' and 'data'")
        columns = match_columns(value["columns"], features, f"{BODY}, 'columns'")
        return _rows(value.get("data"), columns, list(columns.index), key)
    if key == "inputs" and isinstance(value, dict):  # columnar: name -> values
        columns = match_columns(list(value), features, f"{BODY}, 'inputs'")
        lists = [value[f] for f in features]
        if not all(isinstance(v, list) for v in lists) or len(set(map(len, lists))) != 1:
            raise UserError(f"{BODY}, 'inputs': expected a list of values per feature, "
                            f"all of one length")
        return _rows([list(r) for r in zip(*lists)], Columns(tuple(features),
                      tuple(range(len(features)))), list(range(len(features))), key)
    if not isinstance(value, list) or not value:
        raise UserError(f"{BODY}, '{key}': expected a list of rows, got "
                        f"{jsonrows.type_name(value) if value != [] else 'an empty list'}")
    if isinstance(value[0], dict):  # records
        columns = match_columns(list(value[0]), features, f"{BODY}, {key} 1")
        return _rows(value, columns, list(features), key)
    # lists of values in the model's feature order
    columns = Columns(tuple(features), tuple(range(len(features))))
    return _rows(value, columns, list(range(len(features))), key)


def _rows(items, columns, keys, key):
    if not isinstance(items, list) or not items:
        raise UserError(f"{BODY}, '{key}': expected a list of rows")

    def where(no):
        return f"{BODY}, {key} {no}"
    return jsonrows.chunk(items, range(1, len(items) + 1), columns, keys, where)
