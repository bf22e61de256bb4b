"""JSON in: an array of records, pandas' "split" orientation, or JSON Lines of records.

    [{"MedInc": 8.3, ...}, ...]                                 orient="records"
    {"columns": ["MedInc", ...], "index": [...], "data": [[8.3, ...], ...]}   orient="split"
    {"MedInc": 8.3, ...}  one per line                          orient="records", lines=True

A value is a JSON number or a numeric string; null, true, NaN, Infinity and the like are
refused with the record's number and the column. A document is read a record at a time
(none may exceed MAX_LINE bytes), JSON Lines a block of lines at a time, so memory stays
flat. Records are numbered from 1; JSON Lines by line, as in an editor.
"""
import codecs
import itertools
import json
import operator
from json.decoder import WHITESPACE

from .cli import UserError
from .rows import MAX_LINE, Chunk, as_array, batches, exact, line_blocks, match_columns, number

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


def type_name(value):
    return {dict: "an object", list: "an array", str: "a string", type(None): "null",
            bool: "true or false"}.get(type(value), "a number")


def _chunks(numbered, columns, keys, where, empty=None):
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


# --- JSON documents -----------------------------------------------------------------

class Document:
    """A JSON document read one value at a time from a binary stream."""

    def __init__(self, stream, source):
        self.stream, self.source = stream, source
        self.text, self.pos, self.eof = "", 0, False
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self.decoder = json.JSONDecoder()

    def _more(self):
        data = self.stream.read(MAX_LINE)
        self.eof = not data
        try:
            text = self.utf8.decode(data, final=self.eof)
        except UnicodeDecodeError as e:
            raise UserError(f"{self.source}: expected UTF-8 text, got byte "
                            f"0x{e.object[e.start]:02x}") from None
        self.text, self.pos = self.text[self.pos:] + text, 0

    def peek(self):
        """The next character that is not whitespace, or "" at the end."""
        while True:
            self.pos = WHITESPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos:self.pos + 1]
            self._more()

    def take(self, chars, what):
        """Consume one of ``chars``, or raise saying ``what`` was expected."""
        c = self.peek()
        if not c or c not in chars:
            got = repr(c) if c else "the end"
            raise UserError(f"{self.source}: {what}, got {got}")
        self.pos += 1
        return c

    def value(self, what):
        """The next JSON value; ``what`` names it in messages."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
                if end < len(self.text) or self.eof:  # else a number may go on
                    self.pos = end
                    return value
            except json.JSONDecodeError as e:
                if self.eof:
                    raise UserError(f"{self.source}, {what}: not valid JSON ({e.msg})") from None
            if len(self.text) - self.pos > MAX_LINE:
                raise UserError(f"{self.source}, {what}: longer than {MAX_LINE:,} bytes")
            self._more()

    def items(self, what):
        """(number, value) of each element of an array, from 1."""
        self.take("[", f"expected {what}, an array")
        if self.peek() == "]":
            self.pos += 1
            return
        for n in itertools.count(1):
            yield n, self.value(f"record {n}")
            if self.take(",]", f"after record {n}: expected ',' or ']'") == "]":
                return


def read_json(stream, features, source, id_column=None):
    """(Columns, iterator of Chunks) of a JSON document: an array of records (the first
    record's keys are the columns) or pandas' split orientation."""
    doc = Document(stream, source)
    first = doc.peek()
    if first == "[":
        return _records(doc, features, source, id_column)
    if first == "{":
        return _split(doc, features, source, id_column)
    raise UserError(f"{source}: expected JSON records ('[{{...}}, ...]') or pandas' split "
                    f"orientation ('{{\"columns\": ..., \"data\": ...}}'), got "
                    f"{repr(first) if first else 'nothing'}")


def _records(doc, features, source, id_column):
    records = _checked_end(doc, doc.items("an array of records"))

    def where(no):
        return f"{source}, record {no}"
    first = next(records, None)
    if first is None:
        raise UserError(f"{source}: no records; expected at least one")
    if not isinstance(first[1], dict):
        raise UserError(f"{where(1)}: expected an object of feature values, got "
                        f"{type_name(first[1])}")
    columns = match_columns(list(first[1]), features, where(1), id_column)
    return columns, _chunks(itertools.chain([first], records), columns, list(features), where)


def _split(doc, features, source, id_column):
    doc.take("{", "expected an object")
    names = None
    while True:
        key = doc.value("a key")
        doc.take(":", f"after key {key!r}: expected ':'")
        if key == "data":
            if names is None:
                raise UserError(f"{source}: 'data' before 'columns'; expected pandas' split "
                                f"orientation, which names the columns first")
            break
        if key == "columns":
            names = doc.value("'columns'")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise UserError(f"{source}: 'columns' should be a list of names, got "
                                f"{type_name(names)}")
        elif doc.peek() == "[":
            for _ in doc.items(repr(key)):  # the index: skipped, however long
                pass
        else:
            doc.value(repr(key))
        if doc.take(",}", "expected ',' or '}'") == "}":
            raise UserError(f"{source}: no 'data'; expected pandas' split orientation")
    columns = match_columns(names, features, f"{source}, 'columns'", id_column)

    def where(no):
        return f"{source}, row {no} of 'data'"
    rows = _checked_end(doc, doc.items("'data'"), close="}")
    return columns, _chunks(rows, columns, list(columns.index), where,
                            f"{source}: 'data' is empty; expected at least one row")


def _checked_end(doc, items, close=""):
    """``items``, then check that nothing but ``close`` (and the rest of that object)
    follows the array."""
    yield from items
    if close:
        while doc.take(",}", "expected ',' or '}'") == ",":
            doc.value("a key")
            doc.take(":", "expected ':'")
            doc.value("a value")
    if doc.peek():
        raise UserError(f"{doc.source}: expected the end of the document, got {doc.peek()!r}")
