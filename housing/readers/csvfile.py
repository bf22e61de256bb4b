"""CSV: a header naming the columns, then one row per line (CRLF, a byte-order mark,
quotes, spaces and blank lines are fine), or SageMaker's bare rows in the model's
feature order. Read a block at a time, so memory stays flat whatever arrives.

Every value is read by one parser, numpy's. A block goes to it whole; a run of lines it
refuses is cut in PIECES until each line it refuses stands alone, and ``why`` says what
is wrong with that line. So a good line's values never depend on its neighbours, and a
bad line costs numpy a few more calls on ever smaller runs.
"""
import csv
import io
import itertools
import math
from typing import NamedTuple

import numpy as np

from ..cli import UserError
from .chunk import BadRow, Chunk, Table, bad_row_id
from .columns import Columns, match_columns
from .lines import MAX_LINE, line_blocks
from .values import DECIMAL, number, shown

MEDIA_TYPE = "text/csv"  # what an HTTP body in this format says it is
OTHER_DELIMITERS = (";", "\t", "|")
PIECES = 16  # a refused run is cut in this many: fewer calls of numpy than halving (micro.py)
csv.field_size_limit(MAX_LINE)  # a quoted field may be as long as a line (csv's default: 128 KiB)


class Run(NamedTuple):
    """Consecutive lines numpy read: their numbers, their text, and their feature values."""
    nos: object  # a range, or a list where blank lines were left out
    lines: list
    X: np.ndarray


def split(line, source, no):
    """The fields of line ``no``, quotes read as the csv module reads them."""
    if '"' not in line:
        return line.split(",")
    try:
        return next(csv.reader([line]))
    except csv.Error as e:
        raise UserError(f"{line_at(source, no)}: expected a line of CSV; the csv module "
                        f"says: {e}") from None


def id_field(line, columns, source, no):
    """The ``--id`` value of line ``no``."""
    return split(line, source, no)[columns.id_index].strip()


def claims(head, ended):
    """CSV is whatever no other format claims."""
    return True


def read(stream, features, source, id_column=None, bare=False):
    """The Table of a binary CSV stream: a header naming the columns, then rows.
    ``source`` names the stream in errors. ``bare``: a first line of numbers is a row,
    the features in the model's order, with no header (SageMaker's CSV)."""
    blocks = line_blocks(stream, source)
    for first, lines in blocks:
        for no, line in enumerate(lines, first):
            if not line.strip():
                continue
            if bare and all(DECIMAL.fullmatch(v.strip())
                            for v in split(line, source, no)):
                columns = Columns(tuple(features), tuple(range(len(features))))
                first_row = no  # this line is a row
            else:
                columns = header(line, features, source, id_column, no)
                first_row = no + 1
            rest = itertools.chain([(first_row, lines[first_row - first:])], blocks)
            return Table(columns, chunks(rest, columns, source))
    raise UserError(f"{source}: empty input; expected a header naming the columns "
                    f"({', '.join(features)}) and rows of numbers")


def read_body(data, features, source):
    """The Table of an HTTP body's bytes: a header and rows, or SageMaker's bare rows."""
    return read(io.BytesIO(data), features, source, bare=True)


def line_at(source, no):
    """How a line is named in messages."""
    return f"{source}, line {no}"


def header(line, features, source, id_column=None, no=1):
    """Columns of a CSV header ``line`` (line ``no``)."""
    where = line_at(source, no)
    if "\r" in line.rstrip("\r"):
        raise UserError(f"{where}: expected one row per line, found a carriage return inside "
                        f"the header; end lines with LF or CRLF, not CR alone")
    names = [name.strip() for name in split(line, source, no)]
    if len(names) == 1:
        for d in OTHER_DELIMITERS:
            if d in line:
                raise UserError(f"{where}: expected comma-separated values, but the header "
                                f"is separated by {d!r}")
    if all(DECIMAL.fullmatch(name) for name in names):
        raise UserError(f"{where}: expected a header naming the columns "
                        f"({', '.join(features)}), got a row of numbers")
    return match_columns(names, features, where, id_column)


def chunks(blocks, columns, source):
    """The Chunks of ``blocks``: of each, the rows up to its first bad one, then the rest,
    so a caller that stops at a bad row leaves the rest of the block unread."""
    rows = 0
    for first, lines in blocks:
        nos = range(first, first + len(lines))
        if not all(map(str.strip, lines)):  # blank lines are left out
            nos = [no for no, line in zip(nos, lines) if line.strip()]
            lines = [line for line in lines if line.strip()]
        parts = read_runs(lines, nos, columns, source)
        until_bad = []
        for part in parts:
            until_bad.append(part)
            if type(part) is BadRow:
                break
        for group in (until_bad, parts):
            group = list(group)
            if group:
                chunk = chunk_of(group, columns, source)
                rows += len(chunk.nos) + len(chunk.bad)
                yield chunk
    if rows == 0:
        raise UserError(f"{source}: a header but no rows; expected at least one row of numbers")


def chunk_of(parts, columns, source):
    """The Chunk of consecutive Runs and BadRows."""
    runs = [part for part in parts if type(part) is Run]
    bad = [part for part in parts if type(part) is BadRow]
    X = np.vstack([run.X for run in runs]) if runs else np.empty((0, len(columns.index)))
    ids = None
    if columns.id_index is not None:
        ids = [id_field(line, columns, source, no)
               for run in runs for no, line in zip(run.nos, run.lines)]
    good_nos = list(itertools.chain.from_iterable(run.nos for run in runs))
    return Chunk(X, good_nos, lambda no: line_at(source, no), ids, bad)


def read_runs(lines, nos, columns, source, pieces=PIECES):
    """The Runs numpy reads among ``lines`` (numbered ``nos``), and a BadRow for each line
    it refuses, in order: a run it refuses is cut in ``pieces`` until each refused line
    stands alone."""
    if not lines:
        return
    X = numpy_read(lines, columns)
    if X is not None:
        yield Run(nos, lines, X)
    elif len(lines) == 1:
        line = lines[0]
        no = nos[0]
        message = why(line, columns, source, no)
        line_id = bad_row_id(line, columns, lambda row: id_field(row, columns, source, no))
        yield BadRow(no, message, line_id)
    else:
        size = math.ceil(len(lines) / pieces)
        for start in range(0, len(lines), size):
            end = start + size
            yield from read_runs(lines[start:end], nos[start:end], columns, source, pieces)


def numpy_read(lines, columns):
    """The features of ``lines`` as numpy reads them, or None where it refuses a line, a
    line's count of values is not the header's, or a value is not finite."""
    width = len(columns.names)
    text = "\n".join(lines)
    if "\0" in text:  # numpy reads a NUL in a column it skips; a NUL is refused anywhere
        return None
    skips = width != len(columns.index)
    # numpy counts a line's values only when it reads them all: count here when it skips some
    if skips and not all_counted(lines, width, quoted='"' in text):
        return None
    try:
        X = np.loadtxt(lines, delimiter=",", quotechar='"', dtype=np.float64, ndmin=2,
                       comments=None, usecols=columns.index if skips else None)
    except ValueError:
        return None
    # numpy leaves out a line it reads as empty, and takes a first line's count as given
    if X.shape != (len(lines), len(columns.index) if skips else width):
        return None
    if not skips:
        X = X[:, columns.index]
    return X if np.isfinite(X).all() else None


def all_counted(lines, width, quoted):
    """Whether every line holds ``width`` comma-separated values."""
    if not quoted:
        return all(line.count(",") == width - 1 for line in lines)
    try:
        return all(len(fields) == width for fields in csv.reader(lines))
    except csv.Error:
        return False


def why(line, columns, source, no):
    """What is wrong with line ``no``, which numpy refused, as one line to show."""
    where = line_at(source, no)
    width = len(columns.names)
    if "\0" in line:
        return f"{where}: expected text, found a NUL byte"
    try:
        fields = split(line, source, no)
    except UserError as e:
        return str(e)
    if len(fields) != width:
        return f"{where}: expected {width} comma-separated values, got {len(fields)}"
    for i in columns.index:
        try:
            number(fields[i], f"{where}, column '{columns.names[i]}'")
        except UserError as e:
            return str(e)
    if "\r" in line:
        return f"{where}: expected one row per line, found a carriage return inside it"
    return f"{where}: expected {width} comma-separated numbers, got {shown(line)}"
