"""The Open Inference Protocol's tensors read into rows: JSON ``data``, or binary bytes
after the JSON header (Triton's binary tensor data extension, which KServe's clients
speak too).

An infer request holds ``inputs``: either one tensor of shape [n, n_features] in the
model's feature order, or one tensor per feature, named after it, of shape [n] or [n, 1].
Datatypes are FP64, FP32, INT64 or INT32, each value checked against its datatype's
range by ``readers.values``. Per-feature tensors that are not features (a target,
pandas' index) are ignored, as CSV and JSON columns are.
"""
import itertools
import math
from typing import NamedTuple

import numpy as np

from ...cli import UserError
from ...config import TARGET
from ...readers import values
from ...readers.columns import match_columns
from ...readers.values import DATATYPES, type_name
from ..protocol import BODY, field

INPUT = "features"  # the one [n, n_features] input tensor; the output is TARGET


class Inputs(NamedTuple):
    """The rows an infer request holds, and the names of its inputs that were ignored."""
    X: np.ndarray  # shape (n, n_features), float64, in the model's feature order
    ignored: list


class Binary:
    """The bytes after an infer request's JSON header, taken by the inputs in order."""

    def __init__(self, data=b""):
        self.data = data
        self.at = 0

    def take(self, size, where):
        left = len(self.data) - self.at
        if type(size) is not int or not 0 <= size <= left:
            raise UserError(f"{where}: 'binary_data_size' should be a byte count of at most "
                            f"the {left} binary bytes left, got {repr(size)[:40]}")
        self.at += size
        return self.data[self.at - size:self.at]

    def done(self):
        if self.at != len(self.data):
            raise UserError(f"{BODY}: {len(self.data) - self.at} bytes of binary data after "
                            f"the last input's")


def read_inputs(request, features, blob):
    """The Inputs of an infer request (parsed JSON) and the ``Binary`` data after it."""
    if not isinstance(request, dict):
        raise UserError(f"{BODY}: expected an object with 'inputs', got {type_name(request)}")
    field(request, "id", str, BODY)
    field(request, "parameters", dict, BODY)
    for i, output in enumerate(field(request, "outputs", list, BODY) or []):
        where = f"{BODY}, output {i + 1}"
        if not isinstance(output, dict):
            raise UserError(f"{where}: expected an object, got {type_name(output)}")
        if field(output, "name", str, where, required=True) != TARGET:
            raise UserError(f"{where}: no output named {values.shown(output['name'])}; "
                            f"expected {TARGET}")
        field(output, "parameters", dict, where)
    inputs = field(request, "inputs", list, BODY, required=True)
    if not inputs:
        raise UserError(f"{BODY}: 'inputs' is empty; expected at least one tensor")
    if len(inputs) == 1:
        return Inputs(one_tensor(inputs[0], features, blob), [])
    return per_feature(inputs, features, blob)


def one_tensor(t, features, blob):
    name, X = tensor(t, features, 0, blob)
    blob.done()
    if X.ndim != 2 or X.shape[1] != len(features):
        raise UserError(f"input {values.shown(name)}: expected shape [n, {len(features)}] "
                        f"(the features in the model's order: {', '.join(features)}), got "
                        f"{list(X.shape)}")
    return X


def per_feature(inputs, features, blob):
    names = [tensor_name(t, i) for i, t in enumerate(inputs)]
    columns = match_columns(names, features, BODY, what="input")  # a misspelt one is refused
    by_name = {}
    for i, t in enumerate(inputs):
        if i not in columns.index:  # not a feature: ignored, its binary bytes skipped
            where = f"input {values.shown(names[i])}"
            size = (field(t, "parameters", dict, where) or {}).get("binary_data_size")
            if size is not None:
                blob.take(size, where)
            continue
        name, x = tensor(t, features, i, blob)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise UserError(f"input '{name}': expected shape [n] or [n, 1], got {list(x.shape)}")
        by_name[name] = x
    blob.done()
    if len({len(x) for x in by_name.values()}) > 1:
        raise UserError(f"{BODY}: the feature tensors differ in length "
                        f"({', '.join(f'{k} {len(v)}' for k, v in by_name.items())})")
    X = np.column_stack([by_name[f] for f in features])
    return Inputs(X, [n for n in names if n not in by_name])


def tensor_name(t, i):
    """The name of input tensor ``t``, the i-th, which must be an object."""
    if not isinstance(t, dict):
        raise UserError(f"{BODY}, input {i + 1}: expected a tensor object, got {type_name(t)}")
    return field(t, "name", str, f"{BODY}, input {i + 1}", required=True)


def tensor(t, features, i, blob):
    """(name, array of the tensor's shape, float64) of input tensor ``t``, the i-th; its
    values are its 'data', or its 'binary_data_size' bytes of ``blob``."""
    name = tensor_name(t, i)
    where = f"input {values.shown(name)}"
    datatype = t.get("datatype")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        got = values.shown(datatype) if isinstance(datatype, str) else type_name(datatype)
        raise UserError(f"{where}: expected datatype {', '.join(DATATYPES)}, got {got}")
    shape = field(t, "shape", list, where, required=True)
    if not 1 <= len(shape) <= 2 or not all(type(d) is int and d >= 0 for d in shape):
        raise UserError(f"{where}: expected 'shape', one or two sizes (as [n, "
                        f"{len(features)}] or [n]), got {values.shown(str(shape))}")
    size = math.prod(shape)
    width = shape[-1] if shape[-1] == len(features) and len(shape) == 2 else None

    def at(k):
        if width:
            return f"{where}, row {k // width + 1}, column '{features[k % width]}'"
        return f"{where}, element {k + 1}"
    binary = (field(t, "parameters", dict, where) or {}).get("binary_data_size")
    if binary is None:
        data = field(t, "data", list, where, required=True)
        flat = flatten(data, where)
        if len(flat) != size:
            raise UserError(f"{where}: shape {shape} holds {size} values, 'data' has "
                            f"{len(flat)}")
        if flat is not data:
            check_nesting(data, shape, where)
        return name, values.numbers(flat, at, datatype).reshape(shape)
    dtype = np.dtype(DATATYPES[datatype])
    if "data" in t or type(binary) is not int or binary != size * dtype.itemsize:
        # checked before a byte is read; 128.0 is not a count of bytes
        raise UserError(f"{where}: shape {shape} of {datatype} takes {size * dtype.itemsize} "
                        f"binary bytes, and no 'data'; got 'binary_data_size' "
                        f"{repr(binary)[:40]}" + (" and 'data'" if "data" in t else ""))
    x = np.frombuffer(blob.take(binary, where), dtype).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise UserError(f"{at(int(bad[0]))}: expected a finite number ({datatype}), got "
                        f"{float(x[bad[0]])!r}")
    return name, x.reshape(shape)


def flatten(data, where):
    """The values of ``data``, flat, in row-major order; nested lists of any depth."""
    while data and list in (kinds := set(map(type, data))):
        if kinds != {list}:
            raise UserError(f"{where}: 'data' mixes lists and values at one depth")
        data = list(itertools.chain.from_iterable(data))
    return data


def check_nesting(data, shape, where):
    """Nested 'data' must nest as ``shape``: each list at depth d holding shape[d] items,
    so that no row boundary moves (7 values and 9 are not two rows of 8). ``data`` is one
    that ``flatten`` took, with lists alone at each depth above its values, and as many
    values as ``shape`` holds."""
    level = [data]
    for depth, size in enumerate(shape):
        for part in level:
            if len(part) != size:
                raise UserError(f"{where}: 'data' is not nested as shape {shape}: a list at "
                                f"depth {depth + 1} holds {len(part)} items, expected {size}; "
                                f"send it flat, or nested as the shape")
        level = list(itertools.chain.from_iterable(level))
    if any(isinstance(v, list) for v in level):
        raise UserError(f"{where}: 'data' is nested deeper than shape {shape}; send it flat, "
                        f"or nested as the shape")
