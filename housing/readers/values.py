"""The one check of a value, from a JSON value or a protocol tensor's element, and the
words for a CSV field numpy refused; and how values read in messages."""
import math
import re

import numpy as np

from ..cli import UserError

# a number is ASCII decimal text as float() reads it: no underscores, no other digits
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
# The datatypes a tensor's values may be sent as (the Open Inference Protocol's names),
# each as its little-endian numpy type; a value must lie in that type's range, whose
# bound is LIMITS: the largest float, or 2**(bits - 1) for an integer (whose top is one
# below it).
DATATYPES = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4"}
LIMITS = {name: float(np.finfo(kind).max) if kind[1] == "f" else 2 ** (8 * int(kind[2]) - 1)
          for name, kind in DATATYPES.items()}


class Overflowing(float):
    """A JSON number past float64's range (infinity), with the text that was sent."""

    def __new__(cls, text):
        value = super().__new__(cls, text)
        value.text = text
        return value


def shown(text):
    """How a value reads in a message: quoted (escapes for anything unprintable), cut short."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def type_name(value):
    return {dict: "an object", list: "an array", str: "a string", type(None): "null",
            bool: "true or false"}.get(type(value), "a number")


def number(value, where, datatype=None):
    """A float from a CSV field or a JSON value (a number, or a numeric string), or from a
    protocol tensor's element of ``datatype`` (a JSON number within its range; INT types
    take integers only). Anything else is a UserError saying what arrived."""
    dtype = datatype or "FP64"
    integer = dtype.startswith("INT")
    want = ("an integer" if integer else "a number") + (f" ({datatype})" if datatype else "")
    if type(value) is str and not datatype:  # text is a number in CSV and records only
        text = value.strip()
        if not text:
            raise UserError(f"{where}: expected a number, got an empty value")
        if not DECIMAL.fullmatch(text):
            if NOT_FINITE.fullmatch(text):
                want = want.replace("a number", "a finite number")
            raise UserError(f"{where}: expected {want}, got {shown(text)}")
        x = float(text)
        text = shown(text)
    elif type(value) is Overflowing:
        raise UserError(f"{where}: {shown(value.text)} overflows to infinity")
    elif type(value) is int or (type(value) is float and not integer):
        text = repr(value) if type(value) is float else shown(str(value))
        try:
            x = float(value)
        except OverflowError:  # an integer beyond float64
            x = math.inf
    else:
        got = (shown(value) if type(value) is str else repr(value) if type(value) is float
               else type_name(value))
        raise UserError(f"{where}: expected {want}, got {got}")
    low = -LIMITS[dtype]
    high = LIMITS[dtype] - integer  # an INT's top: one below 2**bits
    if not low <= (value if integer else x) <= high:
        if text in ("inf", "-inf"):  # a JSON number whose text was not kept
            text = "a number beyond float64's range"
        if dtype == "FP64":
            raise UserError(f"{where}: {text} overflows to infinity")
        raise UserError(f"{where}: {text} is outside {dtype}'s range, {low:g} to {high:g}")
    return x


def numbers(values, where_of, datatype):
    """float64 array of a list of values, each checked by ``number``; ``where_of(k)``
    names the k-th in a message. Plain lists of ints and floats take numpy's path."""
    integer = datatype.startswith("INT")
    plain = {int} if integer else {int, float}
    kinds = set(map(type, values))
    if kinds <= plain and (not values or (
            -LIMITS[datatype] <= min(values) and max(values) <= LIMITS[datatype] - integer)):
        return np.array(values, dtype=np.float64)  # compared exactly, so none overflows
    if not kinds <= plain:  # number() refuses any other kind: the first one says why, at
        # once, rather than after every value before it was checked one by one (unless a
        # value before it is out of range: then each in order, below)
        k = next(k for k, v in enumerate(values) if type(v) not in plain)
        head = values[:k]
        if not head or (-LIMITS[datatype] <= min(head) and max(head) <= LIMITS[datatype] - integer):
            number(values[k], where_of(k), datatype)
    return np.array([number(v, where_of(k), datatype) for k, v in enumerate(values)],
                    dtype=np.float64)
