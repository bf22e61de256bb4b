"""JSON text and the rows it holds: strict parsing (no NaN, no duplicate keys, numbers
that overflow kept as sent), and reading records or lists of values into Chunks. What the
JSON formats and every protocol's JSON body share."""
import itertools
import json
import math
import operator
import re

import numpy as np

from ..cli import UserError
from .chunk import Chunk, one_at_a_time
from .values import Overflowing, number, shown, type_name


def refuse_constant(name):
    raise UserError(f"expected a finite number, got {name}")


def first_digits(text):
    """A JSON integer; past 400 digits, beyond any float64 (and so refused as overflowing)
    and towards CPython's limit on integer text, only its first 400."""
    return int(text[:401])


def literal_float(text):
    """A JSON number as a float, or an Overflowing one that keeps the text sent."""
    value = float(text)
    return Overflowing(text) if math.isinf(value) else value


def unique_keys(pairs):
    """An object's pairs as a dict; a key given twice is refused (json keeps the last
    silently), as a column given twice is in CSV."""
    found = dict(pairs)
    if len(found) != len(pairs):
        twice = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        raise UserError(f"the key {shown(twice)} appears twice in one object; expected "
                        f"each once")
    return found


# json's own number parsing, in C: the common case
DECODER = json.JSONDecoder(parse_constant=refuse_constant, object_pairs_hook=unique_keys)
# A number written with an exponent of three digits may overflow: a document that holds
# one is decoded with literal_float, which keeps its text for the message, and so is one
# with an integer past CPython's limit on integer text (DECODER's ValueError), which
# first_digits cuts. (A number of 309 digits and no exponent overflows too; its message
# says so without quoting it.)
# Two searches, each led by a literal letter, which re scans for several times faster
# than for a class ([eE]) in text full of keys such as "HouseAge" (tests/bench/micro.py)
OVERFLOW_PATTERNS = (re.compile(r"e[+-]?[0-9]{3}"), re.compile(r"E[+-]?[0-9]{3}"))
def may_overflow(text):
    """Whether ``text`` holds a number written with an exponent of three digits."""
    return any(pattern.search(text) for pattern in OVERFLOW_PATTERNS)


CAREFUL_DECODER = json.JSONDecoder(parse_constant=refuse_constant, parse_int=first_digits,
                                   parse_float=literal_float, object_pairs_hook=unique_keys)


def parse_json(data, where):
    """A JSON value of ``data`` (bytes or str) by the standard library's ``json``; NaN and
    the infinities, which JSON lacks, are refused, as is nesting past Python's limit."""
    try:
        text = data if isinstance(data, str) else str(data, "utf-8").removeprefix("\ufeff")
        if not text.strip():
            raise UserError("empty; expected a JSON document")
        decoder = CAREFUL_DECODER if may_overflow(text) else DECODER
        try:
            return decoder.decode(text)  # a byte-order mark is dropped, as Excel writes one
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of thousands of digits: past int()'s limit
            return CAREFUL_DECODER.decode(text)
    except UnicodeDecodeError as e:
        raise UserError(f"{where}: expected UTF-8 text, got byte 0x{data[e.start]:02x} at "
                        f"position {e.start + 1}") from None
    except json.JSONDecodeError as e:
        at = f"line {e.lineno}, column {e.colno}" if e.lineno > 1 else f"column {e.colno}"
        raise UserError(f"{where}: not valid JSON ({e.msg.removesuffix(' at')} at {at})") from None
    except UserError as e:
        raise UserError(f"{where}: {e}") from None
    except RecursionError:
        raise UserError(f"{where}: not valid JSON (nested too deeply)") from None


class NotJson(str):
    """An item that did not parse (a line of JSON Lines): why, for its row's error."""


def records(items, nos, columns, keys, where):
    """A Chunk of JSON ``items`` numbered ``nos``: records, whose ``keys`` are feature
    names, or rows of pandas' split data, whose ``keys`` are positions. ``where(no)``
    names an item in messages. Plain numbers take numpy's path in one go."""
    by_name = isinstance(keys[0], str)
    id_key = None
    if columns.id_index is not None:
        id_key = columns.names[columns.id_index] if by_name else columns.id_index
    X = plain_values(items, keys, by_name, len(columns.names))
    if X is not None and np.isfinite(X).all():
        ids = None if id_key is None else [id_of(item, id_key) for item in items]
        return Chunk(X, list(nos), where, ids)
    kind = dict if by_name else list
    what = "an object of feature values" if by_name else "a row of values"
    width = len(columns.names)

    def read_row(item, no):
        if isinstance(item, NotJson):
            raise UserError(item)
        if not isinstance(item, kind):
            raise UserError(f"{where(no)}: expected {what}, got {type_name(item)}")
        if not by_name and len(item) != width:
            raise UserError(f"{where(no)}: expected {width} values, got {len(item)}")
        missing = [k for k in keys if by_name and k not in item]
        if missing:
            raise UserError(f"{where(no)}: missing {', '.join(missing)}")
        values = [number(item[k], f"{where(no)}, column '{columns.names[i]}'")
                  for k, i in zip(keys, columns.index)]
        return values, None if id_key is None else id_of(item, id_key)
    return one_at_a_time(items, columns, nos, where, read_row, lambda item: id_of(item, id_key))


def plain_values(items, keys, by_name, width):
    """X of ``items`` when every value is a plain JSON number, else None."""
    if not by_name and not all(type(item) is list and len(item) == width for item in items):
        return None
    get = operator.itemgetter(*keys) if len(keys) > 1 else lambda item: (item[keys[0]],)
    try:
        values = list(map(get, items))
        if set(map(type, itertools.chain.from_iterable(values))) <= {int, float}:
            return np.array(values, dtype=np.float64).reshape(len(items), len(keys))
    except (KeyError, IndexError, TypeError, OverflowError):
        pass
    return None


def id_of(item, key):
    """The id of a record (None when it has none) or of a row of split data."""
    return item.get(key) if isinstance(item, dict) else item[key]
