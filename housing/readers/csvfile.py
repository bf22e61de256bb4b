"""CSV: a header naming the columns, then one row per line (CRLF, a byte-order mark,
quotes, spaces and blank lines are fine), or SageMaker's bare rows in the model's
feature order. Read a block at a time, so memory stays flat whatever arrives.

A block of plain numbers goes to numpy's C parser; a block numpy refuses, or with quotes,
NULs, carriage returns or blank lines, is read line by line, which names what is wrong.
Tests hold the two to the same answers.
"""
import csv
import itertools
import warnings

import numpy as np

from ..cli import UserError
from .chunk import Chunk, Table, one_at_a_time
from .columns import Columns, match_columns
from .lines import line_blocks
from .values import DECIMAL, number

OTHER_DELIMITERS = (";", "\t", "|")


def split(line):
    return line.split(",") if '"' not in line else next(csv.reader([line]))


def read(stream, features, source, id_column=None, bare=False):
    """The Table of a binary CSV stream: a header naming the columns, then rows.
    ``source`` names the stream in errors. ``bare``: a first line of numbers is a row,
    the features in the model's order, with no header (SageMaker's CSV)."""
    blocks = line_blocks(stream, source)
    for no, lines in blocks:
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            if bare and all(DECIMAL.fullmatch(v.strip()) for v in split(line)):
                columns = Columns(tuple(features), tuple(range(len(features))))
                rest = itertools.chain([(no + i, lines[i:])], blocks)  # this line is a row
            else:
                columns = header(line, features, source, id_column, no + i)
                rest = itertools.chain([(no + i + 1, lines[i + 1:])], blocks)
            return Table(columns, chunks(rest, columns, source))
    raise UserError(f"{source}: empty input; expected a header naming the columns "
                    f"({', '.join(features)}) and rows of numbers")


def header(line, features, source, id_column=None, no=1):
    """Columns of a CSV header ``line`` (line ``no``)."""
    where = f"{source}, line {no}"
    names = [name.strip() for name in split(line)]
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
    rows = 0
    for no, lines in blocks:
        if lines:
            chunk = block(lines, no, columns, source)
            rows += len(chunk.nos) + len(chunk.bad)
            yield chunk
    if rows == 0:
        raise UserError(f"{source}: a header but no rows; expected at least one row of numbers")


def block(lines, first, columns, source):
    """Lines numbered from ``first`` as a Chunk. Blank lines are skipped."""
    def where(no):
        return f"{source}, line {no}"
    # quotes, NULs, stray carriage returns and blank lines are read differently by numpy
    text = "\n".join(lines)  # one scan of the block for each, in C
    if all(lines) and not any(c in text for c in '"\0\r'):
        X = loadtxt(lines, columns)
        if X is not None:
            k = columns.id_index
            ids = None if k is None else [line.split(",")[k].strip() for line in lines]
            return Chunk(X, list(range(first, first + len(lines))), where, ids)
    width = len(columns.names)

    def read_row(line, no):
        if "\0" in line:
            raise UserError(f"{source}, line {no}: expected text, found a NUL byte")
        fields = split(line)
        if len(fields) != width:
            raise UserError(f"{source}, line {no}: expected {width} comma-separated values, "
                            f"got {len(fields)}")
        values = [number(fields[i], f"{source}, line {no}, column '{columns.names[i]}'")
                  for i in columns.index]
        return values, None if columns.id_index is None else fields[columns.id_index].strip()

    numbered = [(line, no) for no, line in enumerate(lines, first) if line.strip()]
    return one_at_a_time([line for line, _ in numbered], columns, [no for _, no in numbered],
                         where, read_row, lambda line: split(line)[columns.id_index].strip())


def loadtxt(lines, columns):
    """numpy's parser on plain lines, or None where it refuses or a value is not finite."""
    width = len(columns.names)
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
