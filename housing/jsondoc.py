"""JSON documents in, a record at a time: an array of records, or pandas' split orientation.

    [{"MedInc": 8.3, ...}, ...]                                 df.to_json(orient="records")
    {"columns": ["MedInc", ...], "index": [...], "data": [[8.3, ...], ...]}   orient="split"

No record may exceed MAX_LINE bytes, so memory stays flat however long the document is.
Records (and rows of "data") are numbered from 1.
"""
import codecs
import itertools
import json
from json.decoder import WHITESPACE

from .cli import UserError
from .jsonrows import chunks, type_name
from .rows import MAX_LINE, match_columns


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
    return columns, chunks(itertools.chain([first], records), columns, list(features), where)


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
    return columns, chunks(rows, columns, list(columns.index), where,
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
