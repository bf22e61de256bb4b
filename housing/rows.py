"""Rows in: CSV, JSON documents, JSON Lines and protocol tensors, one reading layer.

Whatever arrives (a file, an HTTP body, a protocol's tensor), its values pass ``number``
and its mistakes get these messages, so the CLI and the server say the same thing.
Columns are matched by name; columns that are not features are never parsed.

- CSV: a header naming the columns, then one row per line (CRLF, a byte-order mark, quotes,
  spaces and blank lines are fine): numpy's parser for plain blocks, else line by line.
- JSON documents: an array of records (``df.to_json(orient="records")``) or pandas' split
  orientation, parsed whole by the standard library's ``json``, up to MAX_DOCUMENT bytes.
- JSON Lines: one record per line, for any length.

CSV and JSON Lines are read a block at a time and no line may pass MAX_LINE bytes, so
memory stays flat whatever arrives.
"""
import csv
import difflib
import gzip
import itertools
import json
import math
import operator
import re
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from .cli import UserError

MAX_LINE = 1 << 20  # bytes in one line of CSV or JSON Lines
MAX_DOCUMENT = 16 << 20  # bytes of a JSON document; JSON Lines have no limit
CHUNK = 16384  # JSON records per Chunk
FORMATS = ("auto", "csv", "json", "jsonl")
# a number is ASCII decimal text as float() reads it: no underscores, no other digits
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
# the largest value each protocol datatype holds; FP64's is float64's own
LIMITS = {"FP64": 1.7976931348623157e308, "FP32": 3.4028234663852886e38,
          "INT64": 2 ** 63, "INT32": 2 ** 31}


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


def match_columns(names, features, where, id_column=None, what="column"):
    """Columns for input ``names`` and model ``features``; UserError naming what is
    missing (and the near-miss it probably was) or repeated; ``what`` the inputs are."""
    names = tuple(names)
    for feature in features:
        if names.count(feature) > 1:
            first = names.index(feature)
            again = names.index(feature, first + 1)
            raise UserError(f"{where}: {what} '{feature}' appears twice "
                            f"({what}s {first + 1} and {again + 1})")
    missing = [f for f in features if f not in names]
    if missing:
        others = [n for n in names if n not in features]
        hints = [f"{near!r} looks like {f}" for f in missing for near in _near(f, others)]
        raise UserError(f"{where}: missing {what}{'s' * (len(missing) > 1)} "
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
    """How a value reads in a message: quoted (escapes for anything unprintable), cut short."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def type_name(value):
    return {dict: "an object", list: "an array", str: "a string", type(None): "null",
            bool: "true or false"}.get(type(value), "a number")


def number(value, where, datatype=None):
    """A float from a CSV field or a JSON value (a number, or a numeric string), or from a
    protocol tensor's element of ``datatype`` (a JSON number within its range; INT types
    take integers only). Anything else is a UserError saying what arrived: the one check
    every value passes."""
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
        x, text = float(text), shown(text)
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
    low, high = -LIMITS[dtype], LIMITS[dtype] - integer  # an INT's top: one below 2**bits
    if not low <= (value if integer else x) <= high:
        if dtype == "FP64":
            raise UserError(f"{where}: {text} overflows to infinity")
        raise UserError(f"{where}: {text} is outside {dtype}'s range, {low:g} to {high:g}")
    return x


def numbers(values, where_of, datatype):
    """float64 array of a list of values, each checked by ``number``; ``where_of(k)``
    names the k-th in a message. Plain lists of ints and floats take numpy's path."""
    integer = datatype.startswith("INT")  # an INT's top: one below 2**bits
    if set(map(type, values)) <= ({int} if integer else {int, float}) and (not values or (
            -LIMITS[datatype] <= min(values) and max(values) <= LIMITS[datatype] - integer)):
        return np.array(values, dtype=np.float64)  # compared exactly, so none overflows
    return np.array([number(v, where_of(k), datatype) for k, v in enumerate(values)],
                    dtype=np.float64)


# --- JSON -----------------------------------------------------------------------------

def _constant(name):
    raise UserError(f"expected a finite number, got {name}")


def _int(text):
    """A JSON integer; past 400 digits, beyond any float64 (and so refused as overflowing)
    and towards CPython's limit on integer text, only its first 400."""
    return int(text[:401])


DECODER = json.JSONDecoder(parse_constant=_constant, parse_int=_int)  # built once


def parse_json(data, where):
    """A JSON value of ``data`` (bytes or str) by the standard library's ``json``; NaN and
    the infinities, which JSON lacks, are refused, as is nesting past Python's limit."""
    try:
        text = data if isinstance(data, str) else str(data, "utf-8").removeprefix("\ufeff")
        return DECODER.decode(text)  # a byte-order mark is dropped, as Excel writes one
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


def records(items, nos, columns, keys, where):
    """A Chunk of JSON ``items`` numbered ``nos``: records, whose ``keys`` are feature
    names, or rows of pandas' split data, whose ``keys`` are positions. ``where(no)``
    names an item in messages."""
    by_name = isinstance(keys[0], str)
    kind, what = (dict, "an object of feature values") if by_name else (list, "a row of values")
    width = len(columns.names)
    id_key = None
    if columns.id_index is not None:
        id_key = columns.names[columns.id_index] if by_name else columns.id_index
    X = None
    if by_name or all(type(item) is list and len(item) == width for item in items):
        get = operator.itemgetter(*keys) if len(keys) > 1 else lambda item: (item[keys[0]],)
        try:
            values = list(map(get, items))
            if set(map(type, itertools.chain.from_iterable(values))) <= {int, float}:
                X = np.array(values, dtype=np.float64).reshape(len(items), len(keys))
        except (KeyError, IndexError, TypeError, OverflowError):
            pass
    if X is not None and np.isfinite(X).all():
        ids = None if id_key is None else [_get(item, id_key) for item in items]
        return Chunk(X, list(nos), where, ids)

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
        return values, None if id_key is None else _get(item, id_key)
    return exact(items, columns, nos, where, read_row, lambda item: _get(item, id_key))


def _get(item, key):
    """The id of a record (None when it has none) or of a row of split data."""
    return item.get(key) if isinstance(item, dict) else item[key]


def read_json(stream, features, source, id_column=None):
    """(Columns, iterator of Chunks) of a JSON document: an array of records (the first
    record's keys are the columns) or pandas' split orientation."""
    data = bytearray()
    while len(data) <= MAX_DOCUMENT and (more := stream.read(MAX_DOCUMENT + 1 - len(data))):
        data += more
    if len(data) > MAX_DOCUMENT:
        raise UserError(f"{source}: a JSON document over {MAX_DOCUMENT:,} bytes; for more "
                        f"rows, write JSON Lines (df.to_json(orient='records', lines=True))")
    doc = parse_json(data, source)
    if isinstance(doc, dict) and isinstance(doc.get("schema"), dict):
        doc = doc.get("data")  # pandas' table orientation: records, the index among them
    elif (isinstance(doc, dict) and doc and "data" not in doc
          and all(isinstance(v, dict) for v in doc.values())):
        if set(features) <= doc.keys():  # orient="columns": column -> {row label: value}
            labels = list(next(iter(doc.values())))
            doc = [{name: values.get(label) for name, values in doc.items()} for label in labels]
        else:  # orient="index": row label -> record
            doc = list(doc.values())
    if isinstance(doc, list):
        if not doc:
            raise UserError(f"{source}: no records; expected at least one")
        if not isinstance(doc[0], dict):
            hint = (" (pandas' values orientation has no column names: write "
                    "df.to_json(orient=\"records\"))" if isinstance(doc[0], list) else "")
            raise UserError(f"{source}, record 1: expected an object of feature values, "
                            f"got {type_name(doc[0])}{hint}")
        columns = match_columns(list(doc[0]), features, f"{source}, record 1", id_column)
        return columns, _batches(doc, columns, list(features), lambda no: f"{source}, record {no}")
    if isinstance(doc, dict) and "data" in doc:
        names = doc.get("columns")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UserError(f"{source}: 'columns' should be a list of names, got "
                            f"{type_name(names) if 'columns' in doc else 'none'}")
        columns = match_columns(names, features, f"{source}, 'columns'", id_column)
        rows = doc["data"]
        if not isinstance(rows, list) or not rows:
            raise UserError(f"{source}: 'data' should be a list of rows, got "
                            f"{type_name(rows) if rows != [] else 'an empty list'}")
        return columns, _batches(rows, columns, list(columns.index),
                                 lambda no: f"{source}, row {no} of 'data'")
    raise UserError(f"{source}: expected JSON records ('[{{...}}, ...]') or pandas' split "
                    f"orientation ('{{\"columns\": ..., \"data\": ...}}'), got "
                    f"{type_name(doc)}")


def _batches(items, columns, keys, where):
    for at in range(0, len(items), CHUNK):
        yield records(items[at:at + CHUNK], range(at + 1, at + 1 + len(items[at:at + CHUNK])),
                      columns, keys, where)


class NotJson(str):
    """A line of JSON Lines that does not parse: why, for its row's error."""


def read_jsonl(stream, features, source, id_column=None):
    """(Columns, iterator of Chunks) of JSON Lines of records: the first record's keys
    are the columns."""
    blocks = line_blocks(stream, source)
    for first, block in blocks:
        for no, line in enumerate(block, first):
            if line.strip():
                where = f"{source}, line {no}"
                record = parse_json(line, where)
                if not isinstance(record, dict):
                    raise UserError(f"{where}: expected an object of feature values, got "
                                    f"{type_name(record)}")
                columns = match_columns(list(record), features, where, id_column)
                rest = itertools.chain([(first, block)], blocks)
                return columns, _jsonl_chunks(rest, columns, features, source)
    raise UserError(f"{source}: empty input; expected JSON Lines of records "
                    f"({', '.join(features)})")


def _jsonl_chunks(blocks, columns, features, source):
    def where(no):
        return f"{source}, line {no}"
    for first, block in blocks:
        nos, items = _parse_lines(block, first, where)
        if nos:
            yield records(items, nos, columns, features, where)


def _parse_lines(lines, first, where):
    """(line numbers, records) of a block of lines numbered from ``first``, blank ones
    left out; a line that does not parse gives a NotJson. One json.loads for the lot,
    each line in a bracket of its own so that no value can span two lines; line by line
    when that fails, or when a line is blank or holds more than one value."""
    try:
        parsed = parse_json("[[" + "],[".join(lines) + "]]", "")
        if set(map(len, parsed)) == {1}:
            return range(first, first + len(lines)), [p[0] for p in parsed]
    except UserError:
        pass
    nos, items = [], []
    for no, line in enumerate(lines, first):
        if line.strip():
            try:
                items.append(parse_json(line, where(no)))
            except UserError as e:
                items.append(NotJson(e))
            nos.append(no)
    return nos, items


# --- CSV ------------------------------------------------------------------------------

OTHER_DELIMITERS = (";", "\t", "|")


def _split(line):
    return line.split(",") if '"' not in line else next(csv.reader([line]))


def csv_columns(line, features, source, id_column=None, no=1):
    """Columns of a CSV header ``line`` (line ``no``)."""
    where = f"{source}, line {no}"
    names = [name.strip() for name in _split(line)]
    if len(names) == 1:
        for d in OTHER_DELIMITERS:
            if d in line:
                raise UserError(f"{where}: expected comma-separated values, but the header "
                                f"is separated by {d!r}")
    if all(DECIMAL.fullmatch(name) for name in names):
        raise UserError(f"{where}: expected a header naming the columns "
                        f"({', '.join(features)}), got a row of numbers")
    return match_columns(names, features, where, id_column)


def csv_chunk(lines, first, columns, source):
    """Lines numbered from ``first`` as a Chunk: numpy's C parser when the whole block
    is plainly numbers, else one line at a time (which names what is wrong). Blank lines
    are skipped."""
    width = len(columns.names)

    def where(no):
        return f"{source}, line {no}"
    # quotes, NULs, stray carriage returns and blank lines are read differently by numpy
    text = "\n".join(lines)  # one scan of the block for each, in C
    if all(lines) and not any(c in text for c in '"\0\r'):
        X = _loadtxt(lines, columns, width)
        if X is not None:
            k = columns.id_index
            ids = None if k is None else [line.split(",")[k].strip() for line in lines]
            return Chunk(X, list(range(first, first + len(lines))), where, ids)

    def read_row(line, no):
        if "\0" in line:
            raise UserError(f"{source}, line {no}: expected text, found a NUL byte")
        fields = _split(line)
        if len(fields) != width:
            raise UserError(f"{source}, line {no}: expected {width} comma-separated values, "
                            f"got {len(fields)}")
        values = [number(fields[i], f"{source}, line {no}, column '{columns.names[i]}'")
                  for i in columns.index]
        return values, None if columns.id_index is None else fields[columns.id_index].strip()

    numbered = [(line, no) for no, line in enumerate(lines, first) if line.strip()]
    return exact([line for line, _ in numbered], columns, [no for _, no in numbered], where,
                 read_row, lambda line: _split(line)[columns.id_index].strip())


def _loadtxt(lines, columns, width):
    """numpy's parser on plain lines, or None where it refuses or a value is not finite."""
    extra = width != len(columns.index)
    # with usecols numpy does not check the other columns' count: count commas here
    if extra and any(line.count(",") != width - 1 for line in lines):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            X = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None,
                           usecols=columns.index if extra else None)
    except (ValueError, UserWarning):
        return None
    if X.shape != (len(lines), len(columns.index) if extra else width):
        return None
    if not extra:
        X = X[:, columns.index]
    return X if np.isfinite(X).all() else None


def read_csv(stream, features, source, id_column=None, bare=False):
    """(Columns, iterator of Chunks) of a binary CSV stream: a header naming the columns,
    then rows. ``source`` names the stream in errors. ``bare``: a first line of numbers
    is a row, the features in the model's order, with no header (SageMaker's CSV)."""
    blocks = line_blocks(stream, source)
    for no, lines in blocks:
        for i, line in enumerate(lines):
            if line.strip():
                if bare and all(DECIMAL.fullmatch(v.strip()) for v in _split(line)):
                    columns = Columns(tuple(features), tuple(range(len(features))))
                    i -= 1  # this line is a row
                else:
                    columns = csv_columns(line, features, source, id_column, no + i)
                rest = itertools.chain([(no + i + 1, lines[i + 1:])], blocks)
                return columns, _csv_chunks(rest, columns, source)
    raise UserError(f"{source}: empty input; expected a header naming the columns "
                    f"({', '.join(features)}) and rows of numbers")


def _csv_chunks(blocks, columns, source):
    rows = 0
    for no, lines in blocks:
        if lines:
            chunk = csv_chunk(lines, no, columns, source)
            rows += len(chunk.nos) + len(chunk.bad)
            yield chunk
    if rows == 0:
        raise UserError(f"{source}: a header but no rows; expected at least one row of numbers")


# --- what the readers share -------------------------------------------------------------

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
            text = block.decode("utf-8")
        except UnicodeDecodeError as e:  # the lines before the bad one first, then the error
            start = block.rfind(b"\n", 0, e.start) + 1
            if start:
                yield no, block[:start].decode("utf-8").split("\n")[:-1]
            line = no + block.count(b"\n", 0, e.start)
            raise UserError(f"{source}, line {line}: expected UTF-8 text, got byte "
                            f"0x{block[e.start]:02x} at position {e.start - start + 1}") from None
        lines = text.split("\n")
        if block.endswith(b"\n"):
            lines.pop()
        if no == 1:
            lines[0] = lines[0].removeprefix("\ufeff")  # byte-order mark, as Excel writes
        if b"\r" in block:  # CRLF line ends
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        yield no, lines
        no += len(lines)


READERS = {"csv": read_csv, "json": read_json, "jsonl": read_jsonl}


def read(stream, features, source, fmt="auto", id_column=None):
    """(Columns, iterator of Chunks) of a binary ``stream`` in format ``fmt``, gzip-
    compressed or not (told by its content); Parquet is refused by name. ``auto``
    decides by the first byte that is not whitespace (or a byte-order mark): '[' is a JSON
    array of records; '{' is JSON Lines when the first line alone is a record of values, a
    document in one of pandas' orientations otherwise; anything else is CSV."""
    head = stream.read(4)
    if head.startswith(b"PAR1"):
        raise UserError(f"{source}: a Parquet file, which is not read here; expected CSV or "
                        f"JSON: pd.read_parquet(path).to_csv(\"rows.csv\") converts it")
    stream = Replay(head, stream)
    if head.startswith(b"\x1f\x8b"):  # gzip, by its content, whatever the name
        stream = Gunzip(stream, source)
    if fmt == "auto":
        stream, fmt = sniff(stream)
    return READERS[fmt](stream, features, source, id_column)


class Gunzip:
    """A gzip-compressed binary stream, read decompressed; damage is a UserError."""

    def __init__(self, stream, source):
        self.file, self.source = gzip.GzipFile(fileobj=stream, mode="rb"), source

    def read(self, n=-1):
        try:
            return self.file.read(n)
        except (OSError, EOFError, zlib.error) as e:
            raise UserError(f"{self.source}: not valid gzip data ({e})") from None


def sniff(stream):
    """(a stream that reads from the start again, the format) of a binary stream."""
    head = b""
    while len(head) <= MAX_LINE:
        data = stream.read(1 << 16)
        head += data
        body = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
        if not body and data:
            continue
        if body[:1] == b"[":
            return Replay(head, stream), "json"
        if body[:1] != b"{":
            return Replay(head, stream), "csv"
        line_end = body.find(b"\n")
        if line_end >= 0 or not data:
            first = body[:line_end] if line_end >= 0 else body
            return Replay(head, stream), "jsonl" if _is_record(first) else "json"
    return Replay(head, stream), "jsonl"  # a first line too long: its reader says so


def _is_record(line):
    """Whether ``line`` alone is a JSON object of values, not a whole document in one of
    pandas' orientations (split, index, columns, table), whose values are objects or arrays."""
    try:
        value = parse_json(line, "")
    except UserError:
        return False
    return isinstance(value, dict) and not any(isinstance(v, (dict, list))
                                               for v in value.values())


class Replay:
    """A binary stream that gives ``head`` again before the rest of ``stream``."""

    def __init__(self, head, stream):
        self.head, self.stream = head, stream

    def read(self, n=-1):
        if self.head:
            out, self.head = (self.head, b"") if n < 0 else (self.head[:n], self.head[n:])
            return out
        return self.stream.read(n)
