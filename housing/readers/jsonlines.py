"""JSON Lines: one record per line (``df.to_json(orient="records", lines=True)``), for
any length, read a block at a time."""
import io
import itertools

from ..cli import UserError
from .chunk import Table
from .columns import match_columns
from .jsonrows import CAREFUL_DECODER, DECODER, NotJson, may_overflow, parse_json, records
from .lines import MAX_LINE, line_blocks
from .values import type_name

MEDIA_TYPE = "application/jsonlines"  # what an HTTP body in this format says it is


def claims(head, ended):
    """JSON Lines start with a line that alone is a record of values, not a document in
    one of pandas' orientations (split, index, columns, table), whose values are objects
    or arrays. A first line too long to tell is claimed: its reader says so."""
    if not head.startswith(b"{"):
        return False
    end = head.find(b"\n")
    if end < 0 and not ended:
        return None if len(head) <= MAX_LINE else True
    try:
        value = parse_json(head[:end] if end >= 0 else head, "")
    except UserError:
        return False
    return isinstance(value, dict) and not any(isinstance(v, (dict, list))
                                               for v in value.values())


def read_body(data, features, source):
    """The Table of an HTTP body's bytes."""
    return read(io.BytesIO(data), features, source)


def read(stream, features, source, id_column=None):
    """The Table of JSON Lines of records: the first record's keys are the columns."""
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
                return Table(columns, chunks(rest, columns, features, source))
    raise UserError(f"{source}: empty input; expected JSON Lines of records "
                    f"({', '.join(features)})")


def chunks(blocks, columns, features, source):
    def where(no):
        return f"{source}, line {no}"
    for first, block in blocks:
        nos, items = parse_lines(block, first, where)
        if nos:
            yield records(items, nos, columns, features, where)


def parse_lines(lines, first, where):
    """(line numbers, records) of a block of lines numbered from ``first``, blank ones
    left out; a line that does not parse gives a NotJson. Each line is parsed alone, as
    JSON Lines asks: first all of them by one decoder, with one check for numbers that
    may overflow; where any line fails, line by line again, for its message."""
    decoder = CAREFUL_DECODER if may_overflow("\n".join(lines)) else DECODER
    try:
        return range(first, first + len(lines)), [decoder.decode(line) for line in lines]
    except (ValueError, UserError, RecursionError):  # JSONDecodeError is a ValueError
        pass
    nos = []
    items = []
    for no, line in enumerate(lines, first):
        if line.strip():
            try:
                items.append(parse_json(line, where(no)))
            except UserError as e:
                items.append(NotJson(e))
            nos.append(no)
    return nos, items
