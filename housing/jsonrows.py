"""JSON records in: the rows of a chunk of records (or of pandas' split data), and JSON
Lines, one record per line (``df.to_json(orient="records", lines=True)``).

A value is a JSON number or a numeric string; null, true, NaN, Infinity and the like are
refused with the record's number and the column. JSON Lines are read a block of lines at
a time, so memory stays flat, and numbered by line, as in an editor. Whole documents are
``jsondoc``'s.
"""
import itertools
import json
import operator

from .cli import UserError
from .rows import Chunk, as_array, exact, line_blocks, match_columns, number

CHUNK_RECORDS = 16384


def chunk(items, nos, columns, keys, where):
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
            X = as_array(list(map(get, items)), len(keys))
        except (KeyError, IndexError, TypeError):
            pass
    if X is not None:
        ids = None if id_key is None else [_get(item, id_key) for item in items]
        return Chunk(X, list(nos), where, ids)

    def read_row(item, no):
        if isinstance(item, NotJson):
            raise UserError(f"{where(no)}: not valid JSON ({item})")
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


def batches(items, size):
    """Lists of up to ``size`` of ``items``; when reading an item raises UserError, the
    items read before it come first as a list of their own, then the error."""
    while True:
        batch = []
        try:
            batch.extend(itertools.islice(items, size))
        except UserError:
            if batch:
                yield batch
            raise
        if not batch:
            return
        yield batch


def type_name(value):
    return {dict: "an object", list: "an array", str: "a string", type(None): "null",
            bool: "true or false"}.get(type(value), "a number")


def chunks(numbered, columns, keys, where, empty=None):
    """Chunks of CHUNK_RECORDS from an iterator of (number, item); UserError ``empty``
    when there is none."""
    any_rows = False
    for batch in batches(numbered, CHUNK_RECORDS):
        any_rows = True
        nos, items = zip(*batch)
        yield chunk(list(items), nos, columns, keys, where)
    if not any_rows and empty:
        raise UserError(empty)


# --- JSON Lines ---------------------------------------------------------------------

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
                record = _loads(line, where)
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
        nos, records = _parse_lines(block, first)
        if nos:
            yield chunk(records, nos, columns, features, where)


def _parse_lines(lines, first):
    """(line numbers, records) of a block of lines numbered from ``first``, blank ones
    left out; a line that does not parse gives a NotJson. One json.loads for the lot,
    each line in a bracket of its own so that no value can span two lines; line by line
    when that fails, or when a line is blank or holds more than one value."""
    try:
        parsed = json.loads("[[" + "],[".join(lines) + "]]")
        if set(map(len, parsed)) == {1}:
            return range(first, first + len(lines)), [p[0] for p in parsed]
    except json.JSONDecodeError:
        pass
    nos, records = [], []
    for no, line in enumerate(lines, first):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                records.append(NotJson(f"{e.msg} at column {e.colno}"))
            nos.append(no)
    return nos, records


def _loads(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
