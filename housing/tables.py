"""Which reader a table of rows needs: CSV, a JSON document, or JSON Lines.

``auto`` decides by the first byte that is not whitespace (or a byte-order mark): '[' is a
JSON array of records; '{' is JSON Lines when the first line alone is a record, pandas'
split orientation otherwise; anything else is CSV.
"""
import json

from . import csvrows, jsondoc, jsonrows
from .rows import MAX_LINE

READERS = {"csv": csvrows.read_csv, "json": jsondoc.read_json, "jsonl": jsonrows.read_jsonl}
FORMATS = ("auto",) + tuple(READERS)
BLANK = b" \t\r\n"


def read(stream, features, source, fmt="auto", id_column=None):
    """(Columns, iterator of rows.Chunk) of a binary ``stream`` in format ``fmt``."""
    if fmt == "auto":
        stream, fmt = sniff(stream)
    return READERS[fmt](stream, features, source, id_column)


def sniff(stream):
    """(a stream that reads from the start again, the format) of a binary stream."""
    head = b""
    while len(head) <= MAX_LINE:
        data = stream.read(1 << 16)
        head += data
        body = head.removeprefix(b"\xef\xbb\xbf").lstrip(BLANK)
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
    """Whether ``line`` alone is a JSON object that is not pandas' split orientation."""
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(value, dict) and not {"columns", "data"} <= value.keys()


class Replay:
    """A binary stream that gives ``head`` again before the rest of ``stream``."""

    def __init__(self, head, stream):
        self.head, self.stream = head, stream

    def read(self, n=-1):
        if self.head:
            out, self.head = (self.head, b"") if n < 0 else (self.head[:n], self.head[n:])
            return out
        return self.stream.read(n)
