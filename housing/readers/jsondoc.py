"""JSON documents: an array of records (``df.to_json(orient="records")``) or one of
pandas' orientations with column names (split, index, columns, table), parsed whole by
the standard library's ``json`` (``jsonrows``), up to MAX_DOCUMENT bytes."""
import io

from ..cli import UserError
from .chunk import Table
from .columns import match_columns
from .jsonrows import parse_json, records
from .values import type_name

MEDIA_TYPE = "application/json"  # what an HTTP body in this format says it is
MAX_DOCUMENT = 16 << 20  # bytes of a JSON document; JSON Lines have no limit
CHUNK = 16384  # records per Chunk


def claims(head, ended):
    """A document is an array or an object."""
    return head[:1] in (b"[", b"{")


def read_body(data, features, source):
    """The Table of an HTTP body's bytes."""
    return read(io.BytesIO(data), features, source)


def read(stream, features, source, id_column=None):
    """The Table of a JSON document: an array of records (the first record's keys are the
    columns) or one of pandas' orientations."""
    data = bytearray()
    while len(data) <= MAX_DOCUMENT and (more := stream.read(MAX_DOCUMENT + 1 - len(data))):
        data += more
    if len(data) > MAX_DOCUMENT:
        raise UserError(f"{source}: a JSON document over {MAX_DOCUMENT:,} bytes; for more "
                        f"rows, write JSON Lines (df.to_json(orient='records', lines=True))")
    doc = as_records(parse_json(data, source), features)
    if isinstance(doc, list):
        if not doc:
            raise UserError(f"{source}: no records; expected at least one")
        if not isinstance(doc[0], dict):
            hint = (" (pandas' values orientation has no column names: write "
                    "df.to_json(orient=\"records\"))" if isinstance(doc[0], list) else "")
            raise UserError(f"{source}, record 1: expected an object of feature values, "
                            f"got {type_name(doc[0])}{hint}")
        columns = match_columns(list(doc[0]), features, f"{source}, record 1", id_column)
        chunks = batches(doc, columns, list(features), lambda no: f"{source}, record {no}")
        return Table(columns, chunks)
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
        chunks = batches(rows, columns, list(columns.index),
                         lambda no: f"{source}, row {no} of 'data'")
        return Table(columns, chunks)
    raise UserError(f"{source}: expected JSON records ('[{{...}}, ...]') or pandas' split "
                    f"orientation ('{{\"columns\": ..., \"data\": ...}}'), got "
                    f"{type_name(doc)}")


def as_records(doc, features):
    """pandas' table, columns and index orientations as a list of records; others as
    they are."""
    if isinstance(doc, dict) and isinstance(doc.get("schema"), dict):
        return doc.get("data")  # orient="table": records, the index among them
    if (isinstance(doc, dict) and doc and "data" not in doc
            and all(isinstance(v, dict) for v in doc.values())):
        if set(features) <= doc.keys():  # orient="columns": column -> {row label: value}
            labels = list(next(iter(doc.values())))
            return [{name: values.get(label) for name, values in doc.items()}
                    for label in labels]
        return list(doc.values())  # orient="index": row label -> record
    return doc


def batches(items, columns, keys, where):
    for at in range(0, len(items), CHUNK):
        part = items[at:at + CHUNK]
        yield records(part, range(at + 1, at + 1 + len(part)), columns, keys, where)
