"""Rows in: one module per input format, and the detection that picks one.

Whatever arrives (a file, an HTTP body, a protocol's tensor), its mistakes get the same
messages, so the CLI and the server say the same thing. A JSON value passes
``values.number``; a CSV field is read by numpy's parser, and ``values.number`` words what
is wrong with one numpy refused (tests hold the two to the same numbers). Columns are
matched by name; columns that are not features are never parsed. Each reader is
``read(stream, features, source, id_column) -> chunk.Table``.

To add a format, write its module beside ``csvfile.py`` and add it to FORMATS: the
command line's ``--format`` takes its choices from there.
"""
from ..cli import UserError
from . import csvfile, jsondoc, jsonlines
from .jsonrows import parse_json
from .lines import MAX_LINE, Gunzip, Replay

FORMATS = {"csv": csvfile.read, "json": jsondoc.read, "jsonl": jsonlines.read}
CHOICES = ("auto", *FORMATS)  # --format's choices


def read(stream, features, source, fmt="auto", id_column=None):
    """The chunk.Table of a binary ``stream`` in format ``fmt``, gzip-compressed or not
    (told by its content); Parquet is refused by name."""
    head = stream.read(4)
    if head.startswith(b"PAR1"):
        raise UserError(f"{source}: a Parquet file, which is not read here; expected CSV or "
                        f"JSON: pd.read_parquet(path).to_csv(\"rows.csv\") converts it")
    stream = Replay(head, stream)
    if head.startswith(b"\x1f\x8b"):  # gzip, by its content, whatever the name
        stream = Gunzip(stream, source)
    if fmt == "auto":
        stream, fmt = detect(stream)
    return FORMATS[fmt](stream, features, source, id_column)


def detect(stream):
    """(a stream that reads from the start again, the format) of a binary stream, by its
    first byte that is not whitespace (or a byte-order mark): '[' is a JSON array of
    records; '{' is JSON Lines when the first line alone is a record of values, a document
    in one of pandas' orientations otherwise; anything else is CSV."""
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
            return Replay(head, stream), "jsonl" if is_record(first) else "json"
    return Replay(head, stream), "jsonl"  # a first line too long: its reader says so


def is_record(line):
    """Whether ``line`` alone is a JSON object of values, not a whole document in one of
    pandas' orientations (split, index, columns, table), whose values are objects or arrays."""
    try:
        value = parse_json(line, "")
    except UserError:
        return False
    return isinstance(value, dict) and not any(isinstance(v, (dict, list))
                                               for v in value.values())
