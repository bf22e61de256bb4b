"""Request bodies of the two HTTP protocols, read into rows, and their responses.

Open Inference Protocol (KServe's "V2", Triton, Seldon MLServer), REST: an infer request
holds ``inputs``, either one tensor of shape [n, n_features] in the model's feature order
or one tensor per feature, named after it, of shape [n] or [n, 1]; datatypes FP64, FP32,
INT64 or INT32, each value checked against its datatype's range; ``data`` flat (row-major)
or nested, or binary after the JSON (Triton's binary tensor data extension, which KServe's
clients speak too). Per-feature tensors that are not features (a target, pandas' index)
are ignored, as CSV and JSON columns are. MLflow's scoring protocol: ``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs`` in JSON (``params`` beside it is
ignored: the model takes none), or CSV, with a header or SageMaker's bare rows.

Every field is checked for its JSON type, and values pass ``rows.number``, so a request
gets the command line's words for the command line's mistakes.
"""
import io
import itertools
import math

import numpy as np

from . import rows
from .cli import UserError
from .config import TARGET
from .rows import Columns, match_columns, type_name

INPUT = "features"  # the one [n, n_features] input tensor; OUTPUT is the target's name
DATATYPES = tuple(rows.LIMITS)
BINARY = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4"}  # little-endian
MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
BODY = "request body"


def _field(obj, key, kind, where, required=False):
    """``obj[key]`` when it is of JSON type ``kind`` (dict, list or str); None when it is
    absent and not ``required``."""
    if key not in obj and not required:
        return None
    value = obj.get(key)
    if not isinstance(value, kind):
        got = type_name(value) if key in obj else "none"
        raise UserError(f"{where}: expected '{key}', {type_name(kind())}, got {got}")
    return value


# --- Open Inference Protocol --------------------------------------------------------

class Binary:
    """The bytes after an infer request's JSON header, taken by the inputs in order."""

    def __init__(self, data=b""):
        self.data, self.at = data, 0

    def take(self, size, where):
        left = len(self.data) - self.at
        if type(size) is not int or not 0 <= size <= left:
            raise UserError(f"{where}: 'binary_data_size' should be a byte count of at most "
                            f"the {left} binary bytes left, got {size!r}")
        self.at += size
        return self.data[self.at - size:self.at]

    def done(self):
        if self.at != len(self.data):
            raise UserError(f"{BODY}: {len(self.data) - self.at} bytes of binary data after "
                            f"the last input's")


def oip_rows(request, features, blob):
    """(X of shape (n, n_features), names of inputs ignored) from an infer request
    (parsed JSON) and the ``Binary`` data after it."""
    if not isinstance(request, dict):
        raise UserError(f"{BODY}: expected an object with 'inputs', got {type_name(request)}")
    _field(request, "id", str, BODY)
    _field(request, "parameters", dict, BODY)
    for i, output in enumerate(_field(request, "outputs", list, BODY) or []):
        where = f"{BODY}, output {i + 1}"
        if not isinstance(output, dict):
            raise UserError(f"{where}: expected an object, got {type_name(output)}")
        if _field(output, "name", str, where, required=True) != TARGET:
            raise UserError(f"{where}: no output named {output['name']!r}; expected {TARGET}")
        _field(output, "parameters", dict, where)
    inputs = _field(request, "inputs", list, BODY, required=True)
    if not inputs:
        raise UserError(f"{BODY}: 'inputs' is empty; expected at least one tensor")
    if len(inputs) == 1:
        name, X = tensor(inputs[0], features, 0, blob)
        blob.done()
        if X.ndim != 2 or X.shape[1] != len(features):
            raise UserError(f"input '{name}': expected shape [n, {len(features)}] (the "
                            f"features in the model's order: {', '.join(features)}), got "
                            f"{list(X.shape)}")
        return X, []
    names = [_name(t, i) for i, t in enumerate(inputs)]
    columns = match_columns(names, features, BODY, what="input")  # a misspelt one is refused
    by_name = {}
    for i, t in enumerate(inputs):
        if i not in columns.index:  # not a feature: ignored, its binary bytes skipped
            size = (t.get("parameters") or {}).get("binary_data_size")
            if size is not None:
                blob.take(size, f"input {names[i]!r}")
            continue
        name, x = tensor(t, features, i, blob)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise UserError(f"input '{name}': expected shape [n] or [n, 1], got {list(x.shape)}")
        by_name[name] = x
    blob.done()
    lengths = {len(x) for x in by_name.values()}
    if len(lengths) > 1:
        raise UserError(f"{BODY}: the feature tensors differ in length "
                        f"({', '.join(f'{k} {len(v)}' for k, v in by_name.items())})")
    return np.column_stack([by_name[f] for f in features]), [n for n in names if n not in by_name]


def _name(t, i):
    """The name of input tensor ``t``, the i-th, which must be an object."""
    if not isinstance(t, dict):
        raise UserError(f"{BODY}, input {i + 1}: expected a tensor object, got {type_name(t)}")
    return _field(t, "name", str, f"{BODY}, input {i + 1}", required=True)


def tensor(t, features, i, blob):
    """(name, array of the tensor's shape, float64) of input tensor ``t``, the i-th; its
    values are its 'data', or its 'binary_data_size' bytes of ``blob``."""
    name = _name(t, i)
    where = f"input {name!r}"
    datatype = t.get("datatype")
    if datatype not in DATATYPES:
        got = repr(datatype) if isinstance(datatype, str) else type_name(datatype)
        raise UserError(f"{where}: expected datatype {', '.join(DATATYPES)}, got {got}")
    shape = _field(t, "shape", list, where, required=True)
    if not 1 <= len(shape) <= 2 or not all(type(d) is int and d >= 0 for d in shape):
        raise UserError(f"{where}: expected 'shape', one or two sizes (as [n, "
                        f"{len(features)}] or [n]), got {rows.shown(str(shape))}")
    size = math.prod(shape)
    width = shape[-1] if shape[-1] == len(features) and len(shape) == 2 else None

    def at(k):
        return (f"{where}, row {k // width + 1}, column '{features[k % width]}'" if width
                else f"{where}, element {k + 1}")
    binary = (_field(t, "parameters", dict, where) or {}).get("binary_data_size")
    if binary is None:
        flat = _flatten(_field(t, "data", list, where, required=True), where)
        if len(flat) != size:
            raise UserError(f"{where}: shape {shape} holds {size} values, 'data' has "
                            f"{len(flat)}")
        return name, rows.numbers(flat, at, datatype).reshape(shape)
    dtype = np.dtype(BINARY[datatype])
    if "data" in t or binary != size * dtype.itemsize:  # checked before a byte is read
        raise UserError(f"{where}: shape {shape} of {datatype} takes {size * dtype.itemsize} "
                        f"binary bytes, and no 'data'; got 'binary_data_size' {binary!r}"
                        + (" and 'data'" if "data" in t else ""))
    x = np.frombuffer(blob.take(binary, where), dtype).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise UserError(f"{at(int(bad[0]))}: expected a finite number ({datatype}), got "
                        f"{float(x[bad[0]])!r}")
    return name, x.reshape(shape)


def _flatten(data, where):
    """The values of ``data``, flat, in row-major order; nested lists of any depth."""
    while data and any(isinstance(v, list) for v in data):
        if not all(isinstance(v, list) for v in data):
            raise UserError(f"{where}: 'data' mixes lists and values at one depth")
        data = list(itertools.chain.from_iterable(data))
    return data


def oip_request(X):
    """An infer request for X of shape (n, n_features): one FP64 tensor, row-major."""
    return {"inputs": [{"name": INPUT, "shape": list(X.shape), "datatype": "FP64",
                        "data": X.ravel().tolist()}]}


def binary_output(request):
    """Whether the response's output is to be binary: the output's own 'binary_data'
    parameter if it names one, else the request's 'binary_data_output'."""
    asked = (request.get("parameters") or {}).get("binary_data_output") is True
    for output in request.get("outputs") or []:
        asked = (output.get("parameters") or {}).get("binary_data", asked) is True
    return asked


def oip_response(name, request, y, parameters):
    """(the infer response's JSON, its binary part): one FP64 output of shape [n], as
    data or, when the request asks for it, as binary bytes; the request's id."""
    out = {"name": TARGET, "datatype": "FP64", "shape": [len(y)]}
    blob = y.astype("<f8").tobytes() if binary_output(request) else b""
    if blob:
        out["parameters"] = {"binary_data_size": len(blob)}
    else:
        out["data"] = y.tolist()
    answer = {"model_name": name, "outputs": [out], "parameters": parameters}
    if "id" in request:
        answer["id"] = request["id"]
    return answer, blob


# --- MLflow scoring protocol --------------------------------------------------------

def mlflow_rows(body, content_type, features):
    """(a rows.Chunk of an /invocations body, JSON or CSV; whether it gave 'params')."""
    if content_type == "text/csv":
        return rows.merge(rows.read_csv(io.BytesIO(body), features, BODY, bare=True)[1]), False
    doc = rows.parse_json(body, BODY)
    keys = [k for k in MLFLOW_KEYS if isinstance(doc, dict) and k in doc]
    params = isinstance(doc, dict) and _field(doc, "params", dict, BODY) is not None
    if params:
        doc = {k: v for k, v in doc.items() if k != "params"}  # the model takes none
    return _mlflow(doc, keys, features), params


def _mlflow(doc, keys, features):
    if len(keys) != 1 or len(doc) != 1:
        got = ", ".join(map(repr, doc)) if isinstance(doc, dict) else type_name(doc)
        raise UserError(f"{BODY}: expected an object with one of {', '.join(MLFLOW_KEYS)}; "
                        f"got {got or 'an empty object'}")
    key, value = keys[0], doc[keys[0]]
    in_order = Columns(tuple(features), tuple(range(len(features))))
    if key == "dataframe_split":
        if not isinstance(value, dict):
            raise UserError(f"{BODY}, 'dataframe_split': expected an object with 'columns' "
                            f"and 'data', got {type_name(value)}")
        names = _field(value, "columns", list, f"{BODY}, 'dataframe_split'", required=True)
        columns = match_columns(names, features, f"{BODY}, 'columns'")
        return _rows(value.get("data"), columns, list(columns.index), key)
    if key == "inputs" and isinstance(value, dict):  # columnar: name -> values
        match_columns(list(value), features, f"{BODY}, 'inputs'")
        lists = [value[f] for f in features]
        if not all(isinstance(v, list) for v in lists) or len(set(map(len, lists))) != 1:
            raise UserError(f"{BODY}, 'inputs': expected a list of values per feature, "
                            f"all of one length")
        return _rows([list(r) for r in zip(*lists)], in_order, list(in_order.index), key)
    if not isinstance(value, list) or not value:
        raise UserError(f"{BODY}, '{key}': expected a list of rows, got "
                        f"{type_name(value) if value != [] else 'an empty list'}")
    if isinstance(value[0], dict):  # records
        columns = match_columns(list(value[0]), features, f"{BODY}, {key} 1")
        return _rows(value, columns, list(features), key)
    return _rows(value, in_order, list(in_order.index), key)  # lists in feature order


def _rows(items, columns, keys, key):
    if not isinstance(items, list) or not items:
        raise UserError(f"{BODY}, '{key}': expected a list of rows")

    def where(no):
        return f"{BODY}, {key} {no}"
    return rows.records(items, range(1, len(items) + 1), columns, keys, where)
