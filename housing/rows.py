"""Rows in: the columns of a table matched to a model's features, and values checked.

What ``csvrows`` and ``jsonrows`` share, and through them ``predict`` and ``serve``, so
a mistake gets the same message on the command line and over HTTP. Columns are matched
by name; columns that are not features are never parsed. Input is read in blocks of at most ``MAX_LINE``
bytes, so memory stays flat whatever arrives, and a line longer than that is refused.
"""
import csv
import difflib
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .cli import UserError

MAX_LINE = 1 << 20  # bytes in one line of CSV or JSON Lines, or in one JSON record


@dataclass
class Chunk:
    """Consecutive rows of input, numbered as the user counts them (line or record).

    X : ndarray of shape (n_good, n_features), float64, in the model's feature order
    nos : list of int, the number of each row of X
    where : function of a row's number, naming it in messages ("<stdin>, line 7")
    ids : list, the ``--id`` value of each row of X, or None without ``--id``
    bad : list of (number, message, id), the rows that could not be read, in order
    """
    X: np.ndarray
    nos: list
    where: object
    ids: list = None
    bad: list = field(default_factory=list)


@dataclass(frozen=True)
class Columns:
    """Where a model's features and the id sit among the input's columns.

    names : the input's column names, in input order
    index : for each feature, its position among ``names``
    id_index : the position of the ``--id`` column, or None
    """
    names: tuple
    index: tuple
    id_index: int = None

    @property
    def ignored(self):
        """Descriptions of the columns that are neither features nor the id."""
        used = set(self.index) | {self.id_index}
        return [describe(name, i) for i, name in enumerate(self.names) if i not in used]


def describe(name, i):
    if name:
        return repr(name)
    return "the unnamed first column (pandas' index)" if i == 0 else f"unnamed column {i + 1}"


def match_columns(names, features, where, id_column=None):
    """Columns for input ``names`` and model ``features``; UserError naming what is
    missing (and the near-miss it probably was) or repeated."""
    names = tuple(names)
    for feature in features:
        if names.count(feature) > 1:
            first = names.index(feature)
            again = names.index(feature, first + 1)
            raise UserError(f"{where}: column '{feature}' appears twice "
                            f"(columns {first + 1} and {again + 1})")
    missing = [f for f in features if f not in names]
    if missing:
        others = [n for n in names if n not in features]
        hints = [f"{near!r} looks like {f}" for f in missing for near in _near(f, others)]
        raise UserError(f"{where}: missing column{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)}" + (f" ({'; '.join(hints)})" if hints else "")
                        + f"; expected {', '.join(features)}")
    id_index = None
    if id_column is not None:
        if id_column not in names:
            raise UserError(f"{where}: no column '{id_column}' for --id; the columns are "
                            f"{', '.join(describe(n, i) for i, n in enumerate(names))}")
        id_index = names.index(id_column)
    return Columns(names, tuple(names.index(f) for f in features), id_index)


def _near(feature, names):
    """The names that look like a misspelt ``feature``: the same but for case, spaces
    or underscores, its start ('Lat'), or close by difflib's ratio."""
    def key(s):
        return str(s).lower().replace("_", "").replace(" ", "")
    same = [n for n in names if key(n) == key(feature)]
    short = [n for n in names if len(key(n)) >= 3 and key(feature).startswith(key(n))]
    return same or short or difflib.get_close_matches(feature, [str(n) for n in names], 1, 0.8)


def shown(text):
    """How a value reads in a message: quoted, and cut short."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def number(value, where):
    """A float from a CSV field or a JSON value: a number or a numeric string, finite.
    Anything else is a UserError saying what arrived."""
    if isinstance(value, bool) or value is None:
        got = {None: "null", True: "true", False: "false"}[value]
        raise UserError(f"{where}: expected a number, got {got}")
    if isinstance(value, (dict, list)):
        got = "an object" if isinstance(value, dict) else "an array"
        raise UserError(f"{where}: expected a number, got {got}")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise UserError(f"{where}: expected a number, got an empty value")
        try:
            x = float(text)
        except ValueError:
            raise UserError(f"{where}: expected a number, got {shown(text)}") from None
        if not math.isfinite(x) and text.lstrip("+-").lower() in ("inf", "infinity", "nan"):
            raise UserError(f"{where}: expected a finite number, got {shown(text)}")
    else:
        try:
            x = float(value)
        except OverflowError:  # a JSON integer beyond float64
            x = math.inf
        if math.isnan(x) or (math.isinf(x) and isinstance(value, float)):
            got = "NaN" if math.isnan(x) else "Infinity" if x > 0 else "-Infinity"
            raise UserError(f"{where}: expected a finite number, got {got}")
        text = str(value)
    if not math.isfinite(x):
        raise UserError(f"{where}: {shown(text)} overflows to infinity")
    return x


def as_array(rows, n):
    """Rows of numbers as float64 of shape (len(rows), n), or None when any value is not
    a finite int or float (bools and strings included): the caller then reads them one
    by one, to name the problem."""
    kinds = set(map(type, itertools.chain.from_iterable(rows)))
    if not kinds <= {int, float}:
        return None
    try:
        X = np.array(rows, dtype=np.float64).reshape(len(rows), n)
    except (ValueError, TypeError, OverflowError):
        return None
    return X if np.isfinite(X).all() else None


def merge(chunks):
    """One Chunk of the Chunks a reader yields, for a table small enough to hold whole."""
    chunks = list(chunks)
    ids = None if chunks[0].ids is None else [i for c in chunks for i in c.ids]
    return Chunk(np.vstack([c.X for c in chunks]), [n for c in chunks for n in c.nos],
                 chunks[0].where, ids, [b for c in chunks for b in c.bad])


def all_rows(chunks):
    """X of every row of ``chunks``; the first bad row's message as a UserError."""
    merged = merge(chunks)
    if merged.bad:
        raise UserError(merged.bad[0][1])
    return merged.X


def exact(rows, columns, at, where, read_row, id_of):
    """Read ``rows`` one at a time with ``read_row(row, no) -> (values, id)``, which raises
    UserError for a bad one; ``at[i]`` is row i's number, and ``id_of(row)`` the id of a
    bad row (None where it has none). Returns a Chunk."""
    good, nos, ids, bad = [], [], [], []
    for row, no in zip(rows, at):
        try:
            values, key = read_row(row, no)
        except UserError as e:
            try:
                key = id_of(row) if columns.id_index is not None else None
            except (IndexError, KeyError, TypeError, AttributeError, csv.Error):
                key = None
            bad.append((no, str(e), key))
            continue
        good.append(values)
        nos.append(no)
        ids.append(key)
    X = np.array(good, dtype=np.float64).reshape(len(good), len(columns.index))
    return Chunk(X, nos, where, ids if columns.id_index is not None else None, bad)


def line_blocks(stream, source, first=1):
    """(number of the first line, its lines) of a binary stream, a block at a time, UTF-8
    decoded, line ends removed. No line may exceed MAX_LINE bytes, so no block does."""
    rest, no = b"", first
    while True:
        data = stream.read(MAX_LINE)
        if not data and not rest:
            return
        data, eof = rest + data, not data
        cut = len(data) if eof else data.rfind(b"\n") + 1
        head = data.find(b"\n", 0, cut)
        if (head if head >= 0 else len(data)) > MAX_LINE:
            raise UserError(f"{source}, line {no}: longer than {MAX_LINE:,} bytes; expected "
                            f"one row per line")
        if cut == 0:
            rest = data
            continue
        block, rest = data[:cut], data[cut:]
        try:
            text = decode(block, source, no)
        except UserError:  # the lines before the bad one first, then the error
            text = decode(block[:block.rfind(b"\n", 0, _bad_byte(block)) + 1], source, no)
            if text:
                yield no, text.split("\n")[:-1]
            raise
        lines = text.split("\n")
        if block.endswith(b"\n"):
            lines.pop()
        if no == 1:
            lines[0] = lines[0].removeprefix("\ufeff")  # byte-order mark, as Excel writes
        if b"\r" in block:  # CRLF line ends
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        yield no, lines
        no += len(lines)


def _bad_byte(block):
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return len(block)


def decode(block, source, no):
    """UTF-8 text of ``block``, whose first line is line ``no``; UserError naming the line
    and byte that is not UTF-8."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = block.rfind(b"\n", 0, e.start) + 1
        line = no + block.count(b"\n", 0, e.start)
        raise UserError(f"{source}, line {line}: expected UTF-8 text, got byte "
                        f"0x{block[e.start]:02x} at position {e.start - line_start + 1}") from None
