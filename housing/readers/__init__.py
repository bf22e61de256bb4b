"""Rows in: one module per input format, and the detection that picks one.

Whatever arrives (a file, an HTTP body, a protocol's tensor), its mistakes get the same
messages, so the CLI and the server say the same thing. A JSON value passes
``values.number``; a CSV field is read by numpy's parser, and ``values.number`` words what
is wrong with one numpy refused (tests hold the two to the same numbers). Columns are
matched by name; columns that are not features are never parsed. Each format's module
has ``read(stream, features, source, id_column) -> chunk.Table``; ``claims(head,
ended)``: whether a stream starting with ``head`` (its first bytes past any byte-order
mark and whitespace; ``ended``, all of it) is in its format, None while it cannot tell;
and ``MEDIA_TYPE`` with ``read_body(data, features, source)``: an HTTP body of it.

To add a format, write its module beside ``csvfile.py`` and add it to FORMATS, where the
first module to claim a stream reads it: the command line's ``--format`` takes its
choices from there, and the server's ``/invocations`` reads a body of its media type.
"""
from ..cli import UserError
from . import csvfile, jsondoc, jsonlines
from .lines import Replay, Gunzip

# by name, in the order they are asked to claim a stream: CSV takes whatever is left
FORMATS = {"jsonl": jsonlines, "json": jsondoc, "csv": csvfile}
CHOICES = ("auto", *sorted(FORMATS))  # --format's choices
MEDIA_TYPES = {module.MEDIA_TYPE: module for module in FORMATS.values()}


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
    return FORMATS[fmt].read(stream, features, source, id_column)


def detect(stream):
    """(a stream that reads from the start again, the format) of a binary stream: the
    first format in FORMATS to claim its first bytes that are not whitespace (or a
    byte-order mark)."""
    head = b""
    while True:
        data = stream.read(1 << 16)
        head += data
        body = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
        if not body and data:
            continue
        for name, module in FORMATS.items():
            claim = module.claims(body, not data)
            if claim is None:
                break  # read on
            if claim:
                return Replay(head, stream), name
